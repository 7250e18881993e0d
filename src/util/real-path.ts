// The file a path names, for messages: symbolic links resolved (/proc/self/exe becomes the executable itself).
import { realpathSync } from "node:fs";

/** `path` with its symbolic links resolved, or `path` itself when it cannot be (gone, unreadable). */
export function realPathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
