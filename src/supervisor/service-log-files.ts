// A service's persistent log file (state_dir/logs/NAME.log): appended through a directory only the init writes, rotated by size, failures said once.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { logger } from "../log.ts";
import { PrivateDir, UnsafeFileError } from "../util/append-private.ts";
import type { LogLine } from "./log-ring.ts";

const log = logger("supervisor");

export class ServiceLogFiles {
  /** The log directory or a file in it was refused (said once). */
  private refused = false;
  /** Services whose log file could not be written (an errno other than a refused file): the error said, the lines lost since. */
  private readonly failing = new Map<string, { code: string; lines: number }>();

  constructor(private readonly dir: string) {}

  /** Appends `lines` to the service's log file, rotated at cfg.max_bytes (cfg.keep files); never throws. */
  append(name: string, cfg: { max_bytes: number; keep: number }, lines: LogLine[]): void {
    const file = `${name}.log`;
    let dir: PrivateDir | null = null;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      // As root, through descriptors of a directory only we can write: a symlink or hard link that
      // someone who could write state_dir planted there was followed (the service's output went into
      // a root-owned file).
      dir = new PrivateDir(this.dir);
      if (dir.size(file) >= cfg.max_bytes) {
        for (let i = cfg.keep - 1; i >= 1; i--) {
          try {
            dir.rename(`${file}.${i}`, `${file}.${i + 1}`);
          } catch {
            /* not there */
          }
        }
        dir.rename(file, `${file}.1`);
      }
      dir.append(file, lines.map((l) => `${new Date(l.t).toISOString()} ${l.line}\n`).join(""), 0o600);
      const failed = this.failing.get(name);
      if (failed !== undefined) {
        this.failing.delete(name);
        log.info("service log file written again", { service: name, lines_lost: failed.lines });
      }
    } catch (e) {
      // A full or read-only disk does not stop the service; a directory or file refused is said once.
      if (e instanceof UnsafeFileError) {
        if (!this.refused) {
          this.refused = true;
          log.error("service log files are not written", { dir: this.dir, error: e.message });
        }
        return;
      }
      // Any other failure (ENOSPC, EROFS, EIO) is said once per service and error, and when writing
      // works again with how many lines the file lost: its lines went missing without a word.
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      const failed = this.failing.get(name);
      if (failed?.code !== code) log.warn("service log file not written; its lines go to the ring and the console only", { service: name, file: join(this.dir, file), error: code });
      this.failing.set(name, { code, lines: (failed?.lines ?? 0) + lines.length });
    } finally {
      dir?.close();
    }
  }
}
