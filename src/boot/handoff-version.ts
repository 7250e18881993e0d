// The live re-exec handoff's version: this image writes and reads it, and says so in `--version` for the next image's preflight.

/** Version of the handoff file (src/boot/handoff.ts). A change of its shape is a new version. */
export const HANDOFF_VERSION = 2;

/** `vector-boot --version`: the preflight of a live re-exec reads the handoff version from it. */
export const versionLine = (version: string): string => `vector-boot ${version} (bun ${Bun.version}, handoff ${HANDOFF_VERSION})\n`;

/**
 * The handoff versions a `--version` output says its image reads, or null when it is not a
 * vector-boot's (`/bin/true --version` exits 0 too, and PID 1 exec'd it: the machine panicked).
 */
export function handoffVersionsIn(output: string): number[] | null {
  const m = /^vector-boot \S+ \([^)]*\bhandoff (\d+(?:,\d+)*)\)$/m.exec(output);
  return m ? m[1]!.split(",").map(Number) : null;
}
