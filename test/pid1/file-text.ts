// A file the test's services append to, read while they may still be writing it: its text and its lines ("" and none while it does not exist).
import { existsSync, readFileSync } from "node:fs";

/** A file's text; "" while it does not exist. */
export const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8") : "");

/** The non-empty lines of a file; none while it does not exist. */
export const lines = (p: string) => read(p).split("\n").filter(Boolean);
