// tini mode passed CMD's arguments and the environment through Bun's UTF-8 strings: bytes that are not UTF-8 (a Latin-1 file name) reached CMD as U+FFFD.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exe, hidden, shippedEnv, tempDir } from "../harness/artifact.ts";

/** Runs the shipped executable from a shell that gives it non-UTF-8 bytes (JS strings cannot carry them). */
function throughShell(pid1: boolean): string {
  const dir = tempDir();
  const script = join(dir, "run.sh");
  writeFileSync(
    script,
    [
      "b=$(printf 'x\\376y')", // x, 0xfe, y
      "export VBBIN=\"a$(printf '\\377')b\"", // a, 0xff, b
      `exec "$1" -- sh -c 'printf "%s|%s" "$1" "$VBBIN" | od -An -tx1' sh "$b"`,
      "",
    ].join("\n"),
  );
  const r = Bun.spawnSync(hidden(["sh", script, exe], { pid1 }), { stdout: "pipe", stderr: "pipe", env: shippedEnv(), timeout: 20_000 });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  return r.stdout.toString().trim().split(/\s+/).join(" ");
}

for (const pid1 of [false, true]) {
  test(`CMD gets its arguments and the environment byte for byte, UTF-8 or not (${pid1 ? "as PID 1" : "as a subreaper"})`, () => {
    // "x\xfey|a\xffb": before, each of 0xfe and 0xff arrived as ef bf bd.
    expect(throughShell(pid1)).toBe("78 fe 79 7c 61 ff 62");
  });
}

test("a service that inherits the init's environment gets its bytes unchanged, its own variables over them, and not what the init removed", () => {
  const dir = tempDir();
  const out = join(dir, "env.txt");
  const cfg = join(dir, "config.json");
  writeFileSync(cfg, JSON.stringify({
    state_dir: join(dir, "state"), run_dir: join(dir, "run"), shutdown_after: 2,
    services: [{ name: "show", restart: "never", env: { VBOWN: "own", VBOVER: "from-config" },
      argv: ["sh", "-c", `printf "%s|%s|%s|%s" "$VBBIN" "$VBOWN" "$VBOVER" "\${VECTOR_BOOT_HANDOFF-unset}" | od -An -tx1 > ${out}`] }],
  }));
  const script = join(dir, "run.sh");
  writeFileSync(script, [
    "export VBBIN=\"a$(printf '\\377')b\"", // a, 0xff, b
    "export VBOVER=from-env",
    // Read and deleted by the boot (a re-exec's handoff; this one names nothing, so the boot is fresh).
    "export VECTOR_BOOT_HANDOFF=/nonexistent/handoff.json",
    `exec "$1" boot --config ${cfg}`,
    "",
  ].join("\n"));
  const r = Bun.spawnSync(hidden(["sh", script, exe]), { stdout: "pipe", stderr: "pipe", env: shippedEnv(), timeout: 60_000 });
  expect(r.exitCode).toBe(0);
  const hex = require("node:fs").readFileSync(out, "utf8").trim().split(/\s+/).join(" ");
  // "a\xffb|own|from-config|unset"
  expect(hex).toBe([..."a"].map((c) => c.charCodeAt(0).toString(16)).concat(["ff"], [..."b|own|from-config|unset"].map((c) => c.charCodeAt(0).toString(16))).join(" "));
});
