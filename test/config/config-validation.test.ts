// Config files and kernel command lines that are wrong get a message naming the field.
import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig, readConfigFile, startOrder, validateConfig } from "../../src/config/load.ts";
import { parseCmdline, tokenizeCmdline } from "../../src/config/cmdline.ts";
import { ConfigError } from "../../src/errors.ts";
import { killLeftovers, root, start, tempDir, writeJson } from "../pid1/harness.ts";
import { bootArgs } from "../pid1/boot-args.ts";
import { runShipped } from "../harness/artifact.ts";

afterEach(killLeftovers);

function problem(raw: unknown): ConfigError {
  try {
    validateConfig(raw, "cfg");
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("config was accepted");
}

describe("config validation", () => {
  test("an unknown top-level key is named", () => {
    expect(problem({ hartbeat_ms: 5 }).message).toContain('"hartbeat_ms"');
  });
  test("an unknown key inside a service is named with its path", () => {
    const e = problem({ services: [{ name: "a", argv: ["true"], restrat: "always" }] });
    expect(e.field).toBe("cfg: services[0]");
    expect(e.message).toContain('"restrat"');
  });
  test("a bad restart policy names services[i].restart", () => {
    expect(problem({ services: [{ name: "a", argv: ["true"], restart: "sometimes" }] }).field).toBe("cfg: services[0].restart");
  });
  test("a relative or empty service cwd was taken relative to wherever the init started (an empty one failed each start with ENOENT); refused at load", () => {
    for (const cwd of ["srv/app", ""]) expect(problem({ services: [{ name: "a", argv: ["true"], cwd }] }).field).toBe("cfg: services[0].cwd");
    expect(problem({ services: [{ name: "a", argv: ["true"], cwd: "rel" }] }).message).toContain("must be an absolute path");
    expect(validateConfig({ services: [{ name: "a", argv: ["true"], cwd: "/srv" }] }).services[0]!.cwd).toBe("/srv");
  });
  test("an empty argv is refused", () => {
    expect(problem({ services: [{ name: "a", argv: [] }] }).field).toBe("cfg: services[0].argv");
  });
  test("an unknown stop signal is refused", () => {
    expect(problem({ services: [{ name: "a", argv: ["x"], stop_signal: "SIGFOO" }] }).field).toBe("cfg: services[0].stop_signal");
  });
  test("stop_signal as a JSON number (10) was refused as 'expected string' though the message offers 'a number': now taken as that signal; 0 and 65 are still refused", () => {
    expect(validateConfig({ services: [{ name: "a", argv: ["x"], stop_signal: 10 }] }).services[0]!.stop_signal).toBe("10");
    expect(validateConfig({ services: [{ name: "a", argv: ["x"] }] }).services[0]!.stop_signal).toBe("SIGTERM");
    for (const bad of [0, 65, 1.5]) expect(problem({ services: [{ name: "a", argv: ["x"], stop_signal: bad }] }).field).toBe("cfg: services[0].stop_signal");
  });
  test("duplicate service names are refused", () => {
    expect(problem({ services: [{ name: "a", argv: ["x"] }, { name: "a", argv: ["y"] }] }).message).toContain("duplicate service name");
  });
  test("a second main service is refused naming services[i].main", () => {
    const e = problem({ services: [{ name: "a", argv: ["x"], main: true }, { name: "b", argv: ["y"] }, { name: "c", argv: ["z"], main: true }] });
    expect(e.field).toBe("cfg: services[2].main");
    expect(e.message).toContain("at most one service may be main (services[0] is already)");
  });
  test("a dependency on an unknown service is refused", () => {
    expect(problem({ services: [{ name: "a", argv: ["x"], depends_on: ["b"] }] }).field).toBe("cfg: services[0].depends_on[0]");
  });
  test("a dependency cycle is refused and shown", () => {
    const e = problem({ services: [{ name: "a", argv: ["x"], depends_on: ["b"] }, { name: "b", argv: ["y"], depends_on: ["a"] }] });
    expect(e.message).toContain("dependency cycle: a -> b -> a");
  });
  test("a service env var or an interrupt named __proto__ vanished without a word (zod leaves that key out); it is refused naming the field", () => {
    // As a config file gives it: JSON.parse makes "__proto__" an own key.
    const env = problem(JSON.parse('{"services":[{"name":"a","argv":["x"],"env":{"A":"1","__proto__":"2"}}]}'));
    expect(env.field).toBe("cfg: services[0].env");
    expect(env.message).toContain('a key named "__proto__" cannot be used');
    expect(problem(JSON.parse('{"heartbeat":{"interrupts":{"__proto__":"log"}}}')).field).toBe("cfg: heartbeat.interrupts");
    // Every other name still works, and an env value is still checked per key.
    expect(validateConfig(JSON.parse('{"services":[{"name":"a","argv":["x"],"env":{"A":"1","proto":"2"}}]}')).services[0]!.env).toEqual({ A: "1", proto: "2" });
    expect(problem({ services: [{ name: "a", argv: ["x"], env: { A: 1 } }] }).field).toBe("cfg: services[0].env.A");
  });
  test("an interrupt handler whose target names no service (a typo) was found only when the interrupt fired, under load; it is refused at load naming the field, and PID 1 is warned", () => {
    const raw = { services: [{ name: "web", argv: ["x"] }], heartbeat: { interrupts: { cpu_pressure: { action: "throttle", target: "wbe" }, memory_pressure: { action: "restart", target: "top_rss" }, zombies: { action: "log", target: "anything" } } } };
    const e = problem(raw);
    expect(e.field).toBe("cfg: heartbeat.interrupts.cpu_pressure.target");
    expect(e.message).toContain('no service named "wbe" (a service name, or cause, top_cpu, top_rss)');
    const warnings: ConfigError[] = [];
    expect(validateConfig(raw, "cfg", warnings).heartbeat.interrupts.cpu_pressure!.target).toBe("wbe");
    expect(warnings.map((w) => w.field)).toEqual(["cfg: heartbeat.interrupts.cpu_pressure.target"]);
    expect(() => validateConfig({ ...raw, heartbeat: { interrupts: { cpu_pressure: { action: "throttle", target: "web" } } } })).not.toThrow();
  });
  test("start order follows dependencies, config order otherwise", () => {
    const c = validateConfig({ services: [{ name: "web", argv: ["x"], depends_on: ["db"] }, { name: "db", argv: ["y"] }, { name: "log", argv: ["z"] }] });
    expect(startOrder(c)).toEqual(["db", "web", "log"]);
  });
});

describe("kernel command line", () => {
  test("tokenizes quotes like the kernel", () => {
    expect(tokenizeCmdline('console=ttyS0 vector.hostname="vb 1" quiet')).toEqual([
      { param: "console", value: "ttyS0" },
      { param: "vector.hostname", value: "vb 1" },
      { param: "quiet", value: null },
    ]);
  });
  test("vector.* keys override, other keys are ignored", () => {
    const r = parseCmdline("root=/dev/sda vector.heartbeat_ms=20 vector.shutdown=reboot vector.shutdown_after=2.5");
    expect(r.errors).toEqual([]);
    expect(r.overrides).toEqual({ heartbeat_ms: 20, shutdown: "reboot", shutdown_after: 2.5 });
  });
  test("a bad value names the key and the value", () => {
    const r = parseCmdline("vector.heartbeat_ms=fast");
    expect(r.errors[0]!.field).toBe("kernel command line vector.heartbeat_ms");
    expect(r.errors[0]!.message).toContain('"fast"');
  });
  test("an unknown vector.* key is reported", () => {
    expect(parseCmdline("vector.hartbeat_ms=5").errors[0]!.message).toContain("unknown key");
  });
  test("vector.shutdown_after= (empty) became 0, 0x10 became 16 and a bare vector.heartbeat_ms set 1 ms; each is refused now", () => {
    for (const tok of ["vector.shutdown_after=", "vector.heartbeat_ms=0x10", "vector.grace_ms=Infinity", "vector.heartbeat_ms"]) {
      const r = parseCmdline(tok);
      expect(r.overrides).toEqual({});
      expect(r.errors[0]!.message).toMatch(/decimal number|needs a value/);
    }
    // Decimal forms and a bare yes/no key still work.
    expect(parseCmdline("vector.shutdown_after=1e3 vector.grace_ms=+250 vector.evolution").overrides).toEqual({ shutdown_after: 1000, grace_ms: 250, evolution: true });
  });
  test("lenient loading (PID 1) keeps going with defaults and returns warnings", () => {
    const dir = tempDir();
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ not json");
    const r = loadConfig({ file: bad, cmdline: "vector.heartbeat_ms=0 vector.grace_ms=100", lenient: true });
    expect(r.config.heartbeat_ms).toBe(100);
    expect(r.config.grace_ms).toBe(100);
    expect(r.warnings.map((w) => w.field)).toEqual(["kernel command line vector.heartbeat_ms", bad, bad]);
    expect(r.warnings.at(-1)!.problem).toBe("the whole file is ignored: the defaults are used");
  });
  test("strict loading (not PID 1) throws on the first problem", () => {
    expect(() => loadConfig({ cmdline: "vector.shutdown=explode", lenient: true })).not.toThrow();
    expect(() => loadConfig({ cmdline: "vector.shutdown=explode", lenient: false })).toThrow(ConfigError);
  });
});

describe("config errors from the real executable", () => {
  test("a malformed config file exits 78 naming the file, outside PID 1", async () => {
    const dir = tempDir();
    const p = join(dir, "broken.json");
    writeFileSync(p, '{"services": [');
    const r = await start(["boot", ...bootArgs(), "--config", p]).result(10_000);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${p}: not valid JSON`);
    expect(r.stderr).not.toContain("    at ");
  });
  test("a config file that starts with a UTF-8 byte order mark was refused as not JSON (an invisible token)", () => {
    const p = join(tempDir(), "bom.json");
    writeFileSync(p, `\uFEFF${JSON.stringify({ heartbeat_ms: 50 })}`);
    expect(readConfigFile(p).heartbeat_ms).toBe(50);
  });
  test("an unknown key exits 78 naming it", async () => {
    const p = writeJson(tempDir(), "c.json", { services: [{ name: "a", argv: ["true"], retsart: "never" }] });
    const r = await start(["boot", ...bootArgs(), "--config", p]).result(10_000);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("services[0]");
    expect(r.stderr).toContain('"retsart"');
    expect(r.stderr.split('"retsart"').length - 1).toBe(1); // named once (it was "Unrecognized key: "retsart" "retsart"")
  });
  test("a key given twice in the config file silently lost the first (a second services list replaced the first); refused naming the key's path (exit 78)", async () => {
    const dir = tempDir();
    const p = join(dir, "twice.json");
    writeFileSync(p, '{"services":[{"name":"a","argv":["sleep","1"]}],\n "shutdown_after":0.2,\n "services":[{"name":"b","argv":["sleep","1"]}]}');
    const r = await start(["boot", ...bootArgs(), "--config", p]).result(10_000);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${p}: services: given twice in one object (JSON keeps only the last: the first was silently lost); remove one`);
    // Deeper, with escapes: "\u0041" is "A".
    writeFileSync(p, '{"services":[{"name":"a","argv":["x"],"env":{"A":"1","B":"2","\\u0041":"3"}}]}');
    expect(() => readConfigFile(p)).toThrow(`${p}: services[0].env.A: given twice`);
    // The same key in two different objects is no duplicate.
    writeFileSync(p, '{"services":[{"name":"a","argv":["x"]},{"name":"b","argv":["y"]}]}');
    expect(readConfigFile(p).services.map((s) => s.name)).toEqual(["a", "b"]);
  }, 30_000);
  test("an error in a --set value was labelled 'kernel command line'; it names --set and the key as given", async () => {
    const r = await start(["boot", ...bootArgs(), "--set", "heartbeat_ms=abc"]).result(10_000);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('--set heartbeat_ms: bad value "abc"');
    expect(r.stderr).not.toContain("kernel command line");
    const u = await start(["boot", ...bootArgs(), "--set", "hartbeat_ms=5"]).result(10_000);
    expect(u.code).toBe(78);
    expect(u.stderr).toContain("--set hartbeat_ms: unknown key (known: heartbeat_ms, heartbeat_log_every,");
    const v = await start(["boot", ...bootArgs(), "--set", "grace_ms"]).result(10_000);
    expect(v.stderr).toContain("--set grace_ms: needs a value (grace_ms=VALUE)");
    // The kernel command line keeps its own name for the same mistake.
    const k = await start(["boot", ...bootArgs(), "--cmdline", "vector.heartbeat_ms=abc"]).result(10_000);
    expect(k.stderr).toContain('kernel command line vector.heartbeat_ms: bad value "abc"');
  }, 30_000);
  test("a bad kernel command line value exits 78 naming the key", async () => {
    const r = await start(["boot", ...bootArgs(), "--cmdline", "vector.heartbeat_ms=-5"]).result(10_000);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("vector.heartbeat_ms");
  });
  test("as PID 1 a malformed config and bad command line are reported and the boot goes on (no panic)", async () => {
    const dir = tempDir();
    const p = join(dir, "broken.json");
    writeFileSync(p, "[1,2");
    const r = await start(["boot", ...bootArgs(), "--config", p, "--cmdline", "vector.heartbeat_ms=oops vector.shutdown_after=0.5"], { pid1: true }).result(15_000);
    expect(r.stderr).toContain('invalid setting ignored, default used field="kernel command line vector.heartbeat_ms"');
    expect(r.stderr).toContain(`field=${p}`);
    expect(r.stderr).toContain("phase heartbeat");
    expect(r.stderr).toContain("poweroff now");
    expect(r.code).toBe(130);
  }, 20_000);
  test("vector.constructor on the kernel command line (a key of every object) failed PID 1's boot with exit 70", async () => {
    const keys = ["constructor", "toString", "__proto__", "hasOwnProperty"];
    for (const k of keys) expect(parseCmdline(`vector.${k}=1`).errors[0]!.message).toContain("unknown key");
    const cmdline = `${keys.map((k) => `vector.${k}=1`).join(" ")} vector.shutdown_after=0.5`;
    const r = await start(["boot", ...bootArgs(), "--cmdline", cmdline], { pid1: true }).result(15_000);
    for (const k of keys) expect(r.stderr).toContain(`invalid setting ignored, default used field="kernel command line vector.${k}"`);
    expect(r.stderr).toContain("first heartbeat");
    expect(r.stderr).toContain("poweroff now");
    expect(r.code).toBe(130);
  }, 20_000);
  test("--set model=PATH with a space in PATH was cut at the space (the --set values were joined into one command line): the boot failed, no such model", async () => {
    const dir = join(tempDir(), "dir with space");
    mkdirSync(dir);
    const model = join(dir, "m.gguf");
    copyFileSync(join(root, "dist/vectorland.gguf"), model);
    const r = await start(["boot", "--set", `model=${model}`, "--set", "shutdown_after=0.3"]).result(15_000);
    expect(r.stderr).toContain(`path="${model}"`);
    expect(r.stderr).toContain("first heartbeat");
    expect(r.code).toBe(0);
  }, 20_000);
  test("`vector-boot constructor` said the command was not available in this build instead of unknown (exit 64)", async () => {
    for (const name of ["constructor", "toString", "__proto__"]) {
      const r = await start([name]).result(10_000);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(`unknown command "${name}"`);
      expect(r.stderr).not.toContain("TypeError");
    }
  }, 30_000);
});

test("boot --check said 'config ok' for what the boot then refused: a bad --set value, an empty command (argv [\"\"], failing every start), memory_max \"1\" (a limit no process starts under)", () => {
  const dir = tempDir();
  const check = (cfg: unknown, ...sets: string[]) => {
    writeFileSync(join(dir, "c.json"), JSON.stringify(cfg));
    return runShipped(["boot", "--check", "--config", join(dir, "c.json"), ...sets.flatMap((s) => ["--set", s])]);
  };
  const cases: Array<[unknown, string[], string]> = [
    [{}, ["heartbeat_ms=abc"], '--set heartbeat_ms: bad value "abc"'],
    [{ services: [{ name: "a", argv: [""] }] }, [], "services[0].argv: the command (argv[0]) must not be empty"],
    [{ services: [{ name: "a", argv: ["x"], memory_max: "1" }] }, [], 'services[0].memory_max: at least 4096 bytes (or "max")'],
    [{ services: [{ name: "a", argv: ["x"], memory_high: "0" }] }, [], "services[0].memory_high: at least 4096 bytes"],
    // Beyond 2^31-1 ms the checkpoint timer overflowed and fired every millisecond.
    [{ evolution: { checkpoint_every_s: 3_000_000 } }, [], "evolution.checkpoint_every_s"],
  ];
  for (const [cfg, sets, says] of cases) {
    const r = check(cfg, ...sets);
    expect({ cfg, code: r.code }).toEqual({ cfg, code: 78 });
    expect(r.stderr).toContain(says);
  }
  expect(check({ services: [{ name: "a", argv: ["x"], memory_max: "4K", memory_high: "max" }] }, "heartbeat_ms=50").code).toBe(0);
});

test("boot --check read the file alone: a fleet service without a fleet section, a bad fleet.* override, and a model the boot could not load all said 'config ok' (the boot then exited 78, or 1/2); it reads what the boot reads and loads the model", () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "fleet.json", { services: [{ name: "one", argv: ["sleep", "1"], fleet: "singleton" }] });
  const a = runShipped(["boot", "--check", "--config", cfg]);
  expect(a.code).toBe(78);
  expect(a.stderr).toContain("services[0].fleet: needs a fleet section");
  const b = runShipped(["boot", "--check", "--set", "fleet.endpoints=http://127.0.0.1:2379", "--set", "fleet.name=a/b"]);
  expect(b.code).toBe(78);
  expect(b.stderr).toContain("vector.fleet.*");
  const empty = join(dir, "empty.gguf");
  writeFileSync(empty, "");
  const c = runShipped(["boot", "--check", "--model", empty]);
  expect(c.code).toBe(2);
  expect(c.stderr).toContain("GGUF magic at byte 0");
  // Without a file: the defaults, and the model it would boot named by its SHA-256 (a live re-exec compares it).
  const d = runShipped(["boot", "--check", ...bootArgs()]);
  expect(d.code).toBe(0);
  expect(d.stdout).toMatch(/^config ok: \(no file: the defaults\)\nmodel ok: \S+ sha256=[0-9a-f]{64}\nstate: \(default\)\n$/);
});

test("boot --check given the file by --set config=FILE or --cmdline vector.config=FILE read and checked it but said 'config ok: (no file: the defaults)': it names the file", () => {
  const dir = tempDir();
  const cfg = writeJson(dir, "named.json", { heartbeat_ms: 250 });
  for (const how of [["--set", `config=${cfg}`], ["--cmdline", `vector.config=${cfg}`]]) {
    const r = runShipped(["boot", "--check", ...how, ...bootArgs()]);
    expect({ how, code: r.code }).toEqual({ how, code: 0 });
    expect(r.stdout.split("\n")[0]).toBe(`config ok: ${cfg}`);
  }
});
