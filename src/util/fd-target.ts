// What a descriptor of this process refers to, as /proc/self/fd names it.
import { readlinkSync } from "node:fs";

/** What `fd` refers to (/proc/self/fd), or "" when it is not open. */
export function fdTarget(n: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${n}`);
  } catch {
    return "";
  }
}
