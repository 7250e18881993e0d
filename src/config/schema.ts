// The config file's schema (zod): services, shutdown, heartbeat, model and state locations.
import { z } from "zod";
import { lazy } from "../util/lazy.ts";
import { intIn as int, z as m } from "../util/zod-mini.ts";
import { heartbeatConfigSchema } from "./heartbeat-schema.ts";
import { capNames, type CapName } from "../sys/capabilities.ts";
import { parseSignal } from "../sys/signals.ts";

// The parts every boot parses are zod/mini (`m`): a third of classic zod's construction cost. The
// service schemas stay classic zod and are built only for a config that has services.
export const restartPolicies = ["always", "on-failure", "never"] as const;

/**
 * The service schemas, built on first use: zod construction costs start-up, and a config without
 * services (the default) never needs them.
 */
const serviceSchemas = lazy(() => {
  const signalName = z
    .string()
    .refine((s) => parseSignal(s) !== undefined, { message: "not a known signal (a name such as SIGTERM or SIGRTMIN+2, or a number)" });

  const serviceName = z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, "must be 1-64 characters of letters, digits, '_', '.', '-'");

  /** A byte count for memory.max/memory.high: a number, or "64M" style (K, M, G: powers of 1024), or "max". */
  const memoryLimit = z
    .union([z.number().int().min(4096), z.string().regex(/^(max|\d+[KMG]?)$/, 'bytes: a number, "64M" style (K, M, G) or "max"')])
    .transform((v) => (typeof v === "number" ? String(v) : v === "max" ? "max" : String(Number(v.replace(/[KMG]$/, "")) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[v.slice(-1)] ?? 1))));

  /** cpu.max as "QUOTA/PERIOD" (or "QUOTA PERIOD") in microseconds: "50000/100000" is half a CPU; "max" lifts it. */
  const cpuMax = z
    .string()
    .regex(/^(max|\d+)([ /]\d+)?$/, 'quota/period in microseconds, e.g. "50000/100000", or "max"')
    .transform((v) => v.replace("/", " "))
    .refine((v) => {
      const [q, p = "100000"] = v.split(" ");
      return (q === "max" || Number(q) >= 1000) && Number(p) >= 1000 && Number(p) <= 1_000_000;
    }, "quota at least 1000 us, period 1000..1000000 us");

  const commandArgv = z.array(z.string().refine((s) => !s.includes("\0"), "must not contain NUL")).min(1, "needs at least the command");
  const probeTimeout = z.number().int().min(1).max(3_600_000);

  /** One check of a service (README "Readiness and health"): a TCP connect, an HTTP 2xx/3xx, a command exiting 0, a file existing. */
  const probeKinds = [
    z.object({ tcp: z.number().int().min(1).max(65535), host: z.string().min(1).default("127.0.0.1") }),
    z.object({ http: z.string().url().refine((u) => /^http:\/\//.test(u), "http:// URLs only") }),
    z.object({ exec: commandArgv }),
    z.object({ file: z.string().regex(/^\//, "must be an absolute path") }),
  ] as const;
  const probe = z.union([probeKinds[0].strict(), probeKinds[1].strict(), probeKinds[2].strict(), probeKinds[3].strict()]);

  /** When a service counts as ready: it says so over sd_notify (READY=1), or a probe passes (tried every interval_ms). */
  const readyTiming = { timeout_ms: probeTimeout.default(30_000), interval_ms: z.number().int().min(10).max(60_000).default(100) };
  const ready = z.union([
    z.object({ notify: z.literal(true), timeout_ms: probeTimeout.default(30_000) }).strict(),
    probeKinds[0].extend(readyTiming).strict(),
    probeKinds[1].extend(readyTiming).strict(),
    probeKinds[2].extend(readyTiming).strict(),
    probeKinds[3].extend(readyTiming).strict(),
  ]);

  /** Probes once ready: `failures` failed checks in a row restart the service (per its restart policy). */
  const health = z.object({
    probe,
    interval_ms: z.number().int().min(10).max(3_600_000).default(10_000),
    timeout_ms: probeTimeout.default(2_000),
    failures: z.number().int().min(1).max(1000).default(3),
  }).strict();

  /** A command run before the service starts (a failure counts as a failed start) or after it stopped. */
  const hookSchema = z.object({ argv: commandArgv, timeout_ms: probeTimeout.default(30_000) }).strict();

  const service = z
    .object({
      name: serviceName,
      argv: z.array(z.string().refine((s) => !s.includes("\0"), "must not contain NUL")).min(1, "needs at least the command"),
      env: z.record(z.string().regex(/^[^=\0]+$/, "bad variable name"), z.string()).default({}),
      /** Inherit the init's environment under `env` (default true). */
      inherit_env: z.boolean().default(true),
      cwd: z.string().default("/"),
      /** Run as this user (default: the init's, root). */
      uid: z.number().int().min(0).max(0xfffffffe).optional(),
      /**
       * Run with this group. Default with `uid`: that user's primary group from /etc/passwd, resolved at
       * load (src/config/load.ts resolveServiceIds); a uid it does not know needs `gid` (never gid 0 by default).
       */
      gid: z.number().int().min(0).max(0xfffffffe).optional(),
      /** Supplementary groups. Default with `uid` or `gid`: none (never the init's). */
      groups: z.array(z.number().int().min(0).max(0xfffffffe)).max(64).optional(),
      restart: z.enum(restartPolicies).default("on-failure"),
      /**
       * The machine's main service: when it exits by itself (not stopped on request) it is not restarted
       * whatever `restart` says; the machine shuts down in order and powers off, and its exit code (or
       * 128 + signal) becomes the machine's exit status (src/boot/exit-status.ts). At most one.
       */
      main: z.boolean().default(false),
      backoff_initial_ms: z.number().int().min(0).max(3_600_000).default(100),
      backoff_max_ms: z.number().int().min(0).max(3_600_000).default(30_000),
      backoff_factor: z.number().min(1).max(10).default(2),
      /** Restart-storm limit: more than `storm_max` restarts within `storm_window_ms` stops the service. */
      storm_max: z.number().int().min(1).max(10_000).default(5),
      storm_window_ms: z.number().int().min(1).max(86_400_000).default(60_000),
      /** A run at least this long resets the back-off to its initial delay. */
      stable_after_ms: z.number().int().min(0).default(10_000),
      depends_on: z.array(serviceName).default([]),
      stop_signal: signalName.default("SIGTERM"),
      grace_ms: z.number().int().min(0).max(3_600_000).default(5_000),
      no_new_privs: z.boolean().default(true),
      /**
       * Capabilities the service keeps (e.g. ["CAP_NET_BIND_SERVICE"]); all others are dropped from
       * its sets and bounding set, even when it runs as root. Default: none.
       */
      capabilities: z.array(z.enum(capNames as [CapName, ...CapName[]])).default([]),
      /** Opt out of capability dropping: the service inherits the init's capabilities (root tools). */
      keep_all_capabilities: z.boolean().default(false),
      /**
       * Fleet placement (needs a `fleet` section): "after-quorum" starts once `fleet.quorum` nodes are
       * members; "singleton" runs on the one node etcd elects (env FLEET_LEADER_REV). Unset: local only.
       */
      fleet: z.enum(["after-quorum", "singleton"]).optional(),
      /** cgroup v2 limits of the service's own cgroup (README "cgroups"); each needs its controller. */
      memory_max: memoryLimit.optional(),
      memory_high: memoryLimit.optional(),
      cpu_max: cpuMax.optional(),
      pids_max: z.number().int().min(1).max(4_194_304).optional(),
      io_weight: z.number().int().min(1).max(10_000).optional(),
      /** Readiness: `depends_on` waits for it; without, a service is ready once spawned. */
      ready: ready.optional(),
      health: health.optional(),
      /** sd_notify watchdog: a service silent (no WATCHDOG=1) this long once ready is killed and restarted per policy. */
      watchdog_ms: z.number().int().min(10).max(3_600_000).optional(),
      pre_start: hookSchema.optional(),
      post_stop: hookSchema.optional(),
      /** Output lines, prefixed with the name, on the init's stdout/stderr (the console). */
      log_console: z.boolean().default(true),
      /** As PID 1, output lines to /dev/kmsg too. */
      log_kmsg: z.boolean().default(false),
      /** A persistent file <state_dir>/logs/<name>.log, rotated at max_bytes (keeping `keep` old ones). */
      log_file: z.object({ max_bytes: z.number().int().min(4096).default(1 << 20), keep: z.number().int().min(1).max(100).default(3) }).strict().optional(),
    })
    .strict();
  return { probe, ready, health, service };
});

export const probeSchema = z.lazy(() => serviceSchemas().probe);
export type Probe = z.infer<typeof probeSchema>;
export const readySchema = z.lazy(() => serviceSchemas().ready);
export type ReadyConfig = z.infer<typeof readySchema>;
export const healthSchema = z.lazy(() => serviceSchemas().health);
export const serviceSchema = z.lazy(() => serviceSchemas().service);
export type ServiceConfig = z.infer<typeof serviceSchema>;

/** The evolution channel + cortex journal (state lives in `state_dir`, the socket in `run_dir`). */
export const evolutionSchema = m.strictObject({
  enabled: m._default(m.boolean(), true),
  rings: m._default(int(1, 64), 8),
  slots: m._default(int(2, 4096).check(m.refine((n) => (n & (n - 1)) === 0, "must be a power of two")), 512),
  /** Most submissions taken per beat (and per doorbell). */
  drain_per_beat: m._default(int(1, 100_000), 256),
  min_confidence: m._default(m.number().check(m.minimum(0), m.maximum(1)), 0.8),
  max_magnitude: m._default(m.number().check(m.positive()), 1000),
  /** Tensor types mutations may touch (quantized ones have their touched blocks re-quantized). */
  mutable_types: m._default(m.array(m.enum(["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"])), ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"]),
  /** Seconds between checkpoints when weights changed (0: only at shutdown). */
  checkpoint_every_s: m._default(m.number().check(m.minimum(0)), 300),
  /** Delete journal segments an older kept checkpoint covers. */
  compact: m._default(m.boolean(), true),
  /** Operator's choice: cut a corrupt journal instead of refusing to start evolution. */
  repair: m._default(m.boolean(), false),
});
export type EvolutionSettings = z.infer<typeof evolutionSchema>;

/** A filesystem the init mounts (PID 1) after loading `modules`, before the runtime: e.g. the state disk. */
export const mountSchema = z.lazy(() =>
  z
    .object({
      source: z.string().min(1),
      target: z.string().regex(/^\//, "must be an absolute path"),
      fstype: z.string().min(1).max(64),
      /** Filesystem data string (e.g. "data=ordered"). */
      options: z.string().default(""),
      flags: z.array(z.enum(["ro", "nosuid", "nodev", "noexec", "noatime", "relatime"])).default([]),
      /** How long to wait for `source` to appear (a disk whose driver just loaded). */
      wait_ms: z.number().int().min(0).max(120_000).default(10_000),
      /** A missing or failing mount is logged; the boot goes on (otherwise too: PID 1 never stops here). */
      optional: z.boolean().default(false),
    })
    .strict(),
);
export type MountConfig = z.infer<typeof mountSchema>;

export const shutdownModes = ["poweroff", "reboot", "halt"] as const;

const fleetName = m.string().check(m.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, "must be 1-64 characters of letters, digits, '_', '.', '-'"));

/** Fleet membership through etcd (docs/fleet.md). No section: no etcd at all (and the schema is built only for one). */
export const fleetSchema = m.lazy(() =>
  m.strictObject({
    /** etcd client URLs (the gateway: http(s)://host:2379). */
    endpoints: m.array(m.string().check(m.regex(/^https?:\/\/[^\s/]+$/, "must be http(s)://host:port"))).check(m.minLength(1)),
    /** The fleet's name: keys live under /vector-boot/<name>/. */
    name: m._default(fleetName, "default"),
    /** This node's id (default: the host name). */
    node_id: m.optional(fleetName),
    /** Lease TTL of the node's key (s); at least 10 (etcd's elections need a few keepalives per TTL). */
    lease_ttl_s: m._default(int(10, 3600), 15),
    tls: m.optional(m.strictObject({ ca: m.optional(m.string()), cert: m.optional(m.string()), key: m.optional(m.string()) })),
    /** etcd authentication; the password is read from a file, never given on a command line. */
    auth: m.optional(m.strictObject({ user: m.string().check(m.minLength(1)), password_file: m.string().check(m.minLength(1)) })),
    /** Members needed before `fleet: "after-quorum"` services start. */
    quorum: m._default(int(1, 100_000), 1),
  }),
);
export type FleetConfig = z.infer<typeof fleetSchema>;

export const configSchema = m.strictObject({
  hostname: m.optional(m.string().check(m.regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/, "not a valid host name"))),
  log_level: m._default(m.enum(["debug", "info", "warn", "error"]), "info"),
  /** Path of the model: .gguf or .rts; default the model embedded in the executable. */
  model: m.optional(m.string()),
  /** Journal and checkpoints (a persistent disk). Default: /var/lib/vector-boot as PID 1, else a per-run temp dir. */
  state_dir: m.optional(m.string()),
  /** Sockets (root-owned, 0700). Default: /run/vector-boot as PID 1, else a per-run temp dir. */
  run_dir: m.optional(m.string()),
  /** Run the seed's pixel test after loading the model. */
  pixel_test: m._default(m.boolean(), true),
  heartbeat_ms: m._default(int(1, 60_000), 100),
  /** Heartbeat log line every N beats (0: never). */
  heartbeat_log_every: m._default(m.int().check(m.minimum(0)), 10),
  shutdown: m._default(m.enum(shutdownModes), "poweroff"),
  /** Shut down by itself after this many seconds of heartbeat (0: never). For tests and demos. */
  shutdown_after: m._default(m.number().check(m.minimum(0)), 0),
  /** Grace period for processes left when stopping, and the default for services. */
  grace_ms: m._default(int(0, 3_600_000), 5_000),
  /**
   * The whole shutdown's deadline (ms; default grace_ms + 10 s): past it PID 1 stops waiting for what
   * is left (a process in D state, a hung flush), syncs (bounded) and calls reboot(2) anyway.
   */
  shutdown_deadline_ms: m.optional(int(100, 3_600_000)),
  /** Kernel modules to load (with their dependencies from modules.dep) as PID 1, before mounting. */
  modules: m._default(m.array(m.string().check(m.regex(/^[a-zA-Z0-9_-]{1,64}$/, "not a module name"))), []),
  mounts: m._default(m.array(mountSchema), []),
  /** Members of this group may use the control socket too (default: root only). */
  control_gid: m.optional(int(0, 0xfffffffe)),
  services: m._default(m.array(serviceSchema), []).check(
    m.superRefine((list, ctx) => {
      const mains = list.flatMap((s, i) => (s.main ? [i] : []));
      if (mains.length > 1) ctx.addIssue({ code: "custom", path: [mains[1]!, "main"], message: `at most one service may be main (services[${mains[0]}] is already)` });
    }),
  ),
  evolution: m.prefault(evolutionSchema, {}),
  /** Heartbeat sampling, watchdog and the handler of each neural interrupt (docs/hw-mmio.md). */
  heartbeat: m.prefault(heartbeatConfigSchema, {}),
  fleet: m.optional(fleetSchema),
});
export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
