// What of the init reaches a service: its own environment marks (the pre-init's, the JS engine's GC signal), and its log lines on /dev/kmsg cut to what the kernel takes.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { kmsgRecord, KMSG_RECORD_BYTES } from "../../src/supervisor/kmsg-record.ts";
import { lines } from "../pid1/file-text.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "../pid1/harness.ts";
import { bootArgs } from "../pid1/boot-args.ts";

afterEach(killLeftovers);

test("every service inherited the init's own variables (VECTOR_BOOT_PREINIT, VECTOR_BOOT_EXEC_BOOTTIME_NS, JSC_SIGNAL_FOR_GC, VECTOR_BOOT_CMDLINE): they are the init's, not the services'; a service's own env may still set one", async () => {
  const dir = tempDir();
  const out = join(dir, "env");
  const cfg = writeJson(dir, "config.json", {
    pixel_test: false,
    run_dir: join(dir, "run"),
    state_dir: join(dir, "state"),
    services: [
      { name: "plain", argv: ["sh", "-c", `env | grep -E '^(VECTOR_BOOT|JSC_)' | sort | sed 's/^/plain /' >> ${out}; echo plain-done >> ${out}`], restart: "never" },
      { name: "own", argv: ["sh", "-c", `echo "own $JSC_SIGNAL_FOR_GC" >> ${out}`], env: { JSC_SIGNAL_FOR_GC: "41" }, restart: "never" },
    ],
  });
  const run = start(["boot", ...bootArgs(), "--config", cfg], { env: { VECTOR_BOOT_PREINIT: "1", VECTOR_BOOT_EXEC_BOOTTIME_NS: "12345", VECTOR_BOOT_CMDLINE: "vector.grace_ms=1000" } });
  await waitFor(() => lines(out).includes("plain-done") && lines(out).some((l) => l.startsWith("own ")), 30_000, "both services' output");
  expect(lines(out).filter((l) => l.startsWith("plain "))).toEqual([]);
  expect(lines(out)).toContain("own 41");
  run.proc.kill("SIGTERM");
  expect((await run.result(30_000)).code).toBe(0);
}, 60_000);

test("a service line of 900 non-ASCII characters (or binary, shown as U+FFFD: 3 bytes each) was written to /dev/kmsg whole, 1.8-2.7 KB, which the kernel refuses: the record is cut to its byte limit at a character boundary", () => {
  for (const ch of ["é", "\uFFFD", "x"]) {
    const r = kmsgRecord(6, "svc", ch.repeat(900));
    expect(r.length).toBeLessThanOrEqual(KMSG_RECORD_BYTES);
    expect(r.at(-1)).toBe(0x0a);
    const text = new TextDecoder("utf-8", { fatal: true }).decode(r);
    expect(text.startsWith("<6>svc: ")).toBe(true);
    expect(text.slice(8, -1)).toBe(ch.repeat(text.slice(8, -1).length));
  }
  expect(new TextDecoder().decode(kmsgRecord(4, "a", "short line"))).toBe("<4>a: short line\n");
});
