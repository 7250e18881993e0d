// As PID 1 one bad value in the config file threw the whole file away (services, mounts, state_dir) while the log said only that field fell back to its default.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { missingStateDisk } from "../../src/boot/storage-phase.ts";
import { tempDir } from "../pid1/harness.ts";

const service = (name: string, extra: Record<string, unknown> = {}) => ({ name, argv: ["/bin/true"], ...extra });

function lenient(cfg: unknown) {
  const file = join(tempDir(), "config.json");
  writeFileSync(file, JSON.stringify(cfg));
  const r = loadConfig({ file, lenient: true });
  return { ...r, file, problems: r.warnings.map((w) => (w.field === file ? w.problem : `${w.field.slice(file.length + 2)}: ${w.problem}`)) };
}

test("one bad heartbeat value made PID 1 drop the whole file (no services, no mounts, the state on the RAM disk): only that value falls back, the rest is kept", () => {
  const r = lenient({ state_dir: "/data/state", hostname: "edge-7", services: [service("web")], mounts: [{ source: "/dev/vdb", target: "/data", fstype: "ext4" }], heartbeat: { smoothing_ms: -1 }, grace_ms: 4000 });
  expect(r.config.services.map((s) => s.name)).toEqual(["web"]);
  expect(r.config.mounts.map((m) => m.target)).toEqual(["/data"]);
  expect(r.config.state_dir).toBe("/data/state");
  expect(r.config.hostname).toBe("edge-7");
  expect(r.config.grace_ms).toBe(4000);
  expect(r.problems).toHaveLength(1);
  expect(r.problems[0]).toStartWith("heartbeat.smoothing_ms: ");
});

test("a service with a bad value is left out whole, the others run (a mistyped uid, or an unknown `user` key, falling back to its default ran the service as root); an unknown top-level key is dropped", () => {
  const r = lenient({ services: [service("a", { grace_ms: "soon" }), { name: "b" }, service("c", { depends_on: ["ghost"] }), service("web", { uid: "999" }), service("web2", { user: "www-data" }), service("d")], bogus_key: 1 });
  expect(r.config.services.map((s) => s.name)).toEqual(["d"]);
  expect(r.problems.join("\n")).toContain("services[0].grace_ms");
  expect(r.problems.join("\n")).toContain("(services[0] left out)");
  expect(r.problems.join("\n")).toContain("unknown service \"ghost\"");
  expect(r.problems.join("\n")).toContain("bogus_key");
});

test("a mount whose flags are mistyped is not mounted without them (nosuid, nodev, noexec dropped): it is kept unmountable, as a mount that cannot stand", () => {
  const r = lenient({ mounts: [{ source: "/dev/vdb", target: "/vb-no-such-disk", fstype: "ext4", flags: "nosuid" }] });
  expect(r.config.mounts).toEqual([expect.objectContaining({ target: "/vb-no-such-disk", fstype: "vb-invalid-config" })]);
});

test("a mount entry that cannot stand is kept unmountable on its target: the state disk under it counts as missing (evolution off), where the whole file's defaults put the journal on the RAM disk", () => {
  const r = lenient({ state_dir: "/vb-no-such-disk/state", mounts: [{ source: "/dev/vdb", target: "/vb-no-such-disk", fstype: 4 }], services: [service("web")] });
  expect(r.config.services.map((s) => s.name)).toEqual(["web"]);
  expect(r.config.mounts.map((m) => m.target)).toEqual(["/vb-no-such-disk"]);
  expect(missingStateDisk({ ...r.config, state_dir: r.config.state_dir! })).toBe("/vb-no-such-disk");
  expect(r.problems.join("\n")).toContain("mounts[0] is not mounted");
});

test("a problem no value's default mends (a dependency cycle) ignores the whole file, and says so", () => {
  const r = lenient({ services: [service("a", { depends_on: ["b"] }), service("b", { depends_on: ["a"] })] });
  expect(r.config.services).toEqual([]);
  expect(r.problems.at(-1)).toBe("the whole file is ignored (a problem no single value's default can mend): the defaults are used");
});
