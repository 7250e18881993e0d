// The config file's schema (zod): services, shutdown, heartbeat, model and state locations.
import { lazy } from "../util/lazy.ts";
import { intIn as int, recordOf, z } from "../util/zod-mini.ts";
import { defaultHeartbeat, heartbeatConfigSchema } from "./heartbeat-schema.ts";
import { defaultEvolution, evolutionSchema } from "./evolution-schema.ts";
import { cgroupNameProblem } from "./service-name.ts";
import { cpuMaxSchema, memoryLimitSchema } from "./cgroup-limit-schema.ts";
import { capNames, type CapName } from "../sys/capabilities.ts";
import { parseSignal } from "../sys/signals.ts";

// zod/mini throughout (a third of classic zod's construction cost, and classic zod stays off the boot
// path); the service and mount schemas are built only for a config that has them.
export const restartPolicies = ["always", "on-failure", "never"] as const;
export const serviceTypes = ["simple", "oneshot"] as const;
export const logLevels = ["debug", "info", "warn", "error"] as const;

/** A service's or a fleet's name, a node id. */
const shortName = () => z.string().check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, "must be 1-64 characters of letters, digits, '_', '.', '-'"));
/** A host name and a kernel module name: the same rules in the config file and on the kernel command line. */
export const hostnameText = () => z.string().check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/, "not a valid host name"));
export const moduleNameText = () => z.string().check(z.regex(/^[a-zA-Z0-9_-]{1,64}$/, "not a module name"));
/** A path setting (model, state_dir, run_dir), in the file and on the command line: "" resolved to the directory the init started in. */
export const pathText = () => z.string().check(z.minLength(1, "must not be empty"));

/**
 * Bounds of the numeric settings the kernel command line overrides too (src/config/cmdline.ts), in
 * one place so that both accept the same values: shutdown_after was bounded on the command line only
 * (a file's 1e300 passed) and heartbeat_log_every likewise.
 */
export const numberBounds = {
  heartbeat_ms: [1, 60_000],
  heartbeat_log_every: [0, 1_000_000],
  /** Seconds: a year. */
  shutdown_after: [0, 31_536_000],
  grace_ms: [0, 3_600_000],
  image_trim_ms: [0, 3_600_000],
  shutdown_deadline_ms: [100, 3_600_000],
  lease_ttl_s: [10, 3600],
  quorum: [1, 100_000],
} as const satisfies Record<string, readonly [number, number]>;
const bounded = (k: keyof typeof numberBounds) => int(numberBounds[k][0], numberBounds[k][1]);

/**
 * The service schemas, built on first use: zod construction costs start-up, and a config without
 * services (the default) never needs them.
 */
const serviceSchemas = lazy(() => {
  // A JSON number too (it was refused as "expected string" though this message offers a number).
  const signalName = z.pipe(
    z.pipe(z.union([z.string(), z.int()]), z.transform((v: string | number) => String(v))),
    z.string().check(z.refine((s) => parseSignal(s) !== undefined, { message: "not a known signal (a name such as SIGTERM or SIGRTMIN+2, or a number)" })),
  );

  const serviceName = shortName();

  const memoryLimit = memoryLimitSchema();
  const cpuMax = cpuMaxSchema();

  const commandArgv = z
    .array(z.string().check(z.refine((s) => !s.includes("\0"), "must not contain NUL")))
    .check(z.minLength(1, "needs at least the command"), z.refine((a) => a.length === 0 || a[0] !== "", "the command (argv[0]) must not be empty"));
  const probeTimeout = int(1, 3_600_000);
  const id = int(0, 0xfffffffe);

  /** One check of a service (README "Readiness and health"): a TCP connect, an HTTP 2xx/3xx, a command exiting 0, a file existing. */
  const probeShapes = [
    { tcp: int(1, 65535), host: z._default(z.string().check(z.minLength(1)), "127.0.0.1") },
    { http: z.url().check(z.refine((u) => /^http:\/\//.test(u), "http:// URLs only")) },
    { exec: commandArgv },
    { file: z.string().check(z.regex(/^\//, "must be an absolute path")) },
  ] as const;
  const probe = z.union([z.strictObject(probeShapes[0]), z.strictObject(probeShapes[1]), z.strictObject(probeShapes[2]), z.strictObject(probeShapes[3])]);

  /** When a service counts as ready: it says so over sd_notify (READY=1), or a probe passes (tried every interval_ms). */
  const readyTiming = { timeout_ms: z._default(probeTimeout, 30_000), interval_ms: z._default(int(10, 60_000), 100) };
  const ready = z.union([
    z.strictObject({ notify: z.literal(true), timeout_ms: z._default(probeTimeout, 30_000) }),
    z.strictObject({ ...probeShapes[0], ...readyTiming }),
    z.strictObject({ ...probeShapes[1], ...readyTiming }),
    z.strictObject({ ...probeShapes[2], ...readyTiming }),
    z.strictObject({ ...probeShapes[3], ...readyTiming }),
  ]);

  /** Probes once ready: `failures` failed checks in a row restart the service (per its restart policy). */
  const health = z.strictObject({
    probe,
    interval_ms: z._default(int(10, 3_600_000), 10_000),
    timeout_ms: z._default(probeTimeout, 2_000),
    failures: z._default(int(1, 1000), 3),
  });

  /** A command run before the service starts (a failure counts as a failed start) or after it stopped. */
  const hookSchema = z.strictObject({ argv: commandArgv, timeout_ms: z._default(probeTimeout, 30_000) });

  const service = z.strictObject({
    // Also the name of its cgroup directory (src/supervisor/service-cgroup.ts).
    name: serviceName.check(z.superRefine((n, ctx) => {
      const problem = cgroupNameProblem(n);
      if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
    })),
    argv: commandArgv,
    env: z._default(recordOf(z.string().check(z.regex(/^[^=\0]+$/, "bad variable name")), z.string()), {}),
    /** Inherit the init's environment under `env` (default true). */
    inherit_env: z._default(z.boolean(), true),
    cwd: z._default(z.string().check(z.regex(/^\//, "must be an absolute path (a relative one depended on where the init was started)")), "/"),
    /** Run as this user (default: the init's, root). */
    uid: z.optional(id),
    /**
     * Run with this group. Default with `uid`: that user's primary group from /etc/passwd, resolved at
     * load (src/config/load.ts resolveServiceIds); a uid it does not know needs `gid` (never gid 0 by default).
     */
    gid: z.optional(id),
    /** Supplementary groups. Default with `uid` or `gid`: none (never the init's). */
    groups: z.optional(z.array(id).check(z.maxLength(64))),
    restart: z._default(z.enum(restartPolicies), "on-failure"),
    /**
     * "simple": a long-running process, ready once spawned (or by its `ready` check). "oneshot": a
     * step that runs to completion (set-up, a migration): its dependents start once it has exited 0,
     * and it is not run again until started by hand; a failed run follows `restart` (on-failure,
     * always: again after the back-off; never: it stays failed and its dependents wait).
     */
    type: z._default(z.enum(serviceTypes), "simple"),
    /**
     * The machine's main service: when it exits by itself (not stopped on request) it is not restarted
     * whatever `restart` says; the machine shuts down in order and powers off, and its exit code (or
     * 128 + signal) becomes the machine's exit status (src/boot/exit-status.ts). At most one.
     */
    main: z._default(z.boolean(), false),
    backoff_initial_ms: z._default(int(0, 3_600_000), 100),
    backoff_max_ms: z._default(int(0, 3_600_000), 30_000),
    backoff_factor: z._default(z.number().check(z.minimum(1), z.maximum(10)), 2),
    /** Restart-storm limit: more than `storm_max` restarts within `storm_window_ms` stops the service. */
    storm_max: z._default(int(1, 10_000), 5),
    storm_window_ms: z._default(int(1, 86_400_000), 60_000),
    /** A run at least this long resets the back-off to its initial delay. */
    stable_after_ms: z._default(z.int().check(z.minimum(0)), 10_000),
    depends_on: z._default(z.array(serviceName), []),
    stop_signal: z._default(signalName, "SIGTERM"),
    grace_ms: z._default(int(0, 3_600_000), 5_000),
    no_new_privs: z._default(z.boolean(), true),
    /**
     * Capabilities the service keeps (e.g. ["CAP_NET_BIND_SERVICE"]); all others are dropped from
     * its sets and bounding set, even when it runs as root. Default: none.
     */
    capabilities: z._default(z.array(z.enum(capNames as [CapName, ...CapName[]])), []),
    /** Opt out of capability dropping: the service inherits the init's capabilities (root tools). */
    keep_all_capabilities: z._default(z.boolean(), false),
    /**
     * Fleet placement (needs a `fleet` section): "after-quorum" starts once `fleet.quorum` nodes are
     * members; "singleton" runs on the one node etcd elects (env FLEET_LEADER_REV). Unset: local only.
     */
    fleet: z.optional(z.enum(["after-quorum", "singleton"])),
    /** cgroup v2 limits of the service's own cgroup (README "cgroups"); each needs its controller. */
    memory_max: z.optional(memoryLimit),
    memory_high: z.optional(memoryLimit),
    cpu_max: z.optional(cpuMax),
    pids_max: z.optional(int(1, 4_194_304)),
    io_weight: z.optional(int(1, 10_000)),
    /** Readiness: `depends_on` waits for it; without, a service is ready once spawned. */
    ready: z.optional(ready),
    health: z.optional(health),
    /** sd_notify watchdog: a service silent (no WATCHDOG=1) this long once ready is killed and restarted per policy. */
    watchdog_ms: z.optional(int(10, 3_600_000)),
    pre_start: z.optional(hookSchema),
    post_stop: z.optional(hookSchema),
    /** Output lines, prefixed with the name, on the init's stdout/stderr (the console). */
    log_console: z._default(z.boolean(), true),
    /** As PID 1, output lines to /dev/kmsg too. */
    log_kmsg: z._default(z.boolean(), false),
    /** A persistent file <state_dir>/logs/<name>.log, rotated at max_bytes (keeping `keep` old ones). */
    log_file: z.optional(z.strictObject({ max_bytes: z._default(z.int().check(z.minimum(4096)), 1 << 20), keep: z._default(int(1, 100), 3) })),
  }).check(
    // What only a long-running process has: a one-shot step is done when it exits.
    z.superRefine((s, ctx) => {
      if (s.type !== "oneshot") return;
      const refused: [keyof typeof s, string][] = [
        ["main", "a oneshot service cannot be main (the main service's exit ends the machine)"],
        ["ready", "a oneshot service is ready when it exits 0; it takes no ready check"],
        ["health", "a oneshot service takes no health check"],
        ["watchdog_ms", "a oneshot service takes no watchdog"],
        ["fleet", "a oneshot service cannot have a fleet placement"],
      ];
      for (const [key, message] of refused) if (s[key] !== undefined && s[key] !== false) ctx.addIssue({ code: "custom", path: [key], message });
    }),
  );
  return { probe, ready, health, service };
});

export const probeSchema = z.lazy(() => serviceSchemas().probe);
export type Probe = z.infer<typeof probeSchema>;
export const readySchema = z.lazy(() => serviceSchemas().ready);
export type ReadyConfig = z.infer<typeof readySchema>;
export const healthSchema = z.lazy(() => serviceSchemas().health);
export const serviceSchema = z.lazy(() => serviceSchemas().service);
export type ServiceConfig = z.infer<typeof serviceSchema>;

/** A filesystem the init mounts (PID 1) after loading `modules`, before the runtime: e.g. the state disk. */
export const mountSchema = z.lazy(() =>
  z.strictObject({
    source: z.string().check(z.minLength(1)),
    target: z.string().check(z.regex(/^\//, "must be an absolute path")),
    fstype: z.string().check(z.minLength(1), z.maxLength(64)),
    /** Filesystem data string (e.g. "data=ordered"). */
    options: z._default(z.string(), ""),
    flags: z._default(z.array(z.enum(["ro", "nosuid", "nodev", "noexec", "noatime", "relatime"])), []),
    /** How long to wait for `source` to appear (a disk whose driver just loaded). */
    wait_ms: z._default(int(0, 120_000), 10_000),
    /** A missing or failing mount is logged; the boot goes on (otherwise too: PID 1 never stops here). */
    optional: z._default(z.boolean(), false),
  }),
);
export type MountConfig = z.infer<typeof mountSchema>;

export const shutdownModes = ["poweroff", "reboot", "halt"] as const;

/** Fleet membership through etcd (docs/fleet.md). No section: no etcd at all (and the schema is built only for one). */
export const fleetSchema = z.lazy(() =>
  z.strictObject({
    /** etcd client URLs (the gateway: http(s)://host:2379). */
    endpoints: z.array(z.string().check(z.regex(/^https?:\/\/[^\s/]+$/, "must be http(s)://host:port"))).check(z.minLength(1)),
    /** The fleet's name: keys live under /vector-boot/<name>/. */
    name: z._default(shortName(), "default"),
    /** This node's id (default: the host name). */
    node_id: z.optional(shortName()),
    /** Lease TTL of the node's key (s); at least 10 (etcd's elections need a few keepalives per TTL). */
    lease_ttl_s: z._default(bounded("lease_ttl_s"), 15),
    tls: z.optional(z.strictObject({ ca: z.optional(z.string()), cert: z.optional(z.string()), key: z.optional(z.string()) })),
    /** etcd authentication; the password is read from a file, never given on a command line. */
    auth: z.optional(z.strictObject({ user: z.string().check(z.minLength(1)), password_file: z.string().check(z.minLength(1)) })),
    /** Members needed before `fleet: "after-quorum"` services start. */
    quorum: z._default(bounded("quorum"), 1),
  }),
);
export type FleetConfig = z.infer<typeof fleetSchema>;

/** The top level's defaults: the schema's, and what a boot with no config file takes without building it. */
const topDefaults = {
  log_level: "info",
  pixel_test: true,
  heartbeat_ms: 100,
  heartbeat_log_every: 10,
  image_trim_ms: 2_000,
  shutdown: "poweroff",
  shutdown_after: 0,
  grace_ms: 5_000,
} as const;

/** Built on first use: a boot with no config file never builds it (see `defaultConfig`). */
export const configSchema = z.lazy(() =>
  z.strictObject({
    hostname: z.optional(hostnameText()),
    log_level: z._default(z.enum(logLevels), topDefaults.log_level),
    /** Path of the model: .gguf or .rts; default the model embedded in the executable. */
    model: z.optional(pathText()),
    /** Journal and checkpoints (a persistent disk). Default: /var/lib/vector-boot as PID 1, else a per-run temp dir. */
    state_dir: z.optional(pathText()),
    /** Sockets (root-owned, 0700). Default: /run/vector-boot as PID 1, else a per-run temp dir. */
    run_dir: z.optional(pathText()),
    /** Run the seed's pixel test after loading the model. */
    pixel_test: z._default(z.boolean(), topDefaults.pixel_test),
    heartbeat_ms: z._default(bounded("heartbeat_ms"), topDefaults.heartbeat_ms),
    /** Heartbeat log line every N beats (0: never). */
    heartbeat_log_every: z._default(bounded("heartbeat_log_every"), topDefaults.heartbeat_log_every),
    /**
     * This long after the first heartbeat (ms), the executable's loaded segments get MADV_PAGEOUT
     * once, so that an idle appliance keeps resident only what it touches again (0: never).
     */
    image_trim_ms: z._default(bounded("image_trim_ms"), topDefaults.image_trim_ms),
    shutdown: z._default(z.enum(shutdownModes), topDefaults.shutdown),
    /** Shut down by itself after this many seconds of heartbeat (0: never). For tests and demos. */
    shutdown_after: z._default(z.number().check(z.minimum(numberBounds.shutdown_after[0]), z.maximum(numberBounds.shutdown_after[1])), topDefaults.shutdown_after),
    /** Grace period for the processes left once the services have stopped (each service has its own `grace_ms`, default 5000). */
    grace_ms: z._default(bounded("grace_ms"), topDefaults.grace_ms),
    /**
     * The whole shutdown's deadline (ms; default: the longest of grace_ms and every service's grace_ms,
     * + 10 s): past it PID 1 stops waiting for what is left (a process in D state, a hung flush), syncs
     * (bounded) and calls reboot(2) anyway.
     */
    shutdown_deadline_ms: z.optional(bounded("shutdown_deadline_ms")),
    /** Kernel modules to load (with their dependencies from modules.dep) as PID 1, before mounting. */
    modules: z._default(z.array(moduleNameText()), () => []),
    mounts: z._default(z.array(mountSchema), () => []),
    /** Members of this group may use the control socket too (default: root only). */
    control_gid: z.optional(int(0, 0xfffffffe)),
    // The check on the array, not on the default: zod/mini's check() copies the default's one value.
    services: z._default(
      z.array(serviceSchema).check(
        z.superRefine((list, ctx) => {
          const mains = list.flatMap((s, i) => (s.main ? [i] : []));
          if (mains.length > 1) ctx.addIssue({ code: "custom", path: [mains[1]!, "main"], message: `at most one service may be main (services[${mains[0]}] is already)` });
        }),
      ),
      () => [],
    ),
    // A section the file leaves out takes its defaults without its schema being built (the test pins them equal).
    evolution: z._default(evolutionSchema, defaultEvolution),
    /** Heartbeat sampling, watchdog and the handler of each neural interrupt (docs/hw-mmio.md). */
    heartbeat: z._default(heartbeatConfigSchema, defaultHeartbeat),
    fleet: z.optional(fleetSchema),
  }),
);
export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/**
 * The config of `{}` (no file: nothing external to validate), as the schema gives it, without building
 * the schema (its cold construction and parse were ~5 ms of the boot); test/config pins it to the
 * schema's parse. Fresh objects each call: the boot fills in its copy.
 */
export function defaultConfig(): Config {
  return { ...topDefaults, modules: [], mounts: [], services: [], evolution: defaultEvolution(), heartbeat: defaultHeartbeat() };
}
