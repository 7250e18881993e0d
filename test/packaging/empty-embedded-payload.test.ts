// An executable whose trailer records an empty model payload is a damaged trailer (65), not a failed mmap (71) or a runtime that cannot start (1).
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PackageError } from "../../src/errors.ts";
import { sha256 } from "../../src/rts/checksum.ts";
import { EMBED_ALIGNMENT, encodeTrailer, locateEmbeddedModel } from "../../src/rts/embed.ts";
import { openModelSource } from "../../src/rts/model-source.ts";
import { runShipped } from "../harness/artifact.ts";
import { tempDir } from "./helpers.ts";

const t = tempDir("empty-payload");
afterAll(() => t.cleanup());

/** A 5000-byte "program" (the ELF magic, so inspect reads it as an executable), zero padding to 64 KiB, and a well-checksummed trailer saying the model has 0 bytes. */
function emptyPayloadExe(): string {
  const programSize = 5000;
  const body = new Uint8Array(EMBED_ALIGNMENT).fill(7, 0, programSize);
  body.set([0x7f, 0x45, 0x4c, 0x46]);
  const trailer = encodeTrailer({ programSize, offset: EMBED_ALIGNMENT, size: 0, alignment: EMBED_ALIGNMENT, sha256: sha256(new Uint8Array(0)), crc32c: null });
  const path = join(t.dir, "empty-payload.exe");
  writeFileSync(path, Buffer.concat([body, trailer]), { mode: 0o755 });
  return path;
}

test("a trailer recording an empty payload (payloadSize 0) failed with 'mmap ... range [N, N) outside the file: EINVAL' (exit 71; boot 1): it is trailer.payloadSize, exit 65", () => {
  const exe = emptyPayloadExe();
  for (const fn of [() => locateEmbeddedModel(exe), () => openModelSource({ exePath: exe, fallbackPath: null })]) {
    let err: unknown = null;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PackageError);
    expect((err as PackageError).field).toBe("trailer.payloadSize");
  }
  for (const cmd of ["verify", "inspect", "rts-inspect"]) {
    const r = runShipped([cmd, exe], { timeoutMs: 60_000 });
    expect({ cmd, code: r.code }).toEqual({ cmd, code: 65 });
    expect(r.stderr).toContain("trailer.payloadSize");
    expect(r.stderr).not.toContain("EINVAL");
  }
}, 120_000);
