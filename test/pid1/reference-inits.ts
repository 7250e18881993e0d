// The inits the tini-mode tests hold vector-boot to: tini and dumb-init, where this machine has them.
import { existsSync } from "node:fs";

/** [name, the argv before CMD] of tini (`-s --`) and dumb-init, each if installed in /usr/bin. */
export function referenceInits(): Array<[string, string[]]> {
  const references: Array<[string, string[]]> = [];
  if (existsSync("/usr/bin/tini")) references.push(["tini", ["/usr/bin/tini", "-s", "--"]]);
  if (existsSync("/usr/bin/dumb-init")) references.push(["dumb-init", ["/usr/bin/dumb-init"]]);
  return references;
}
