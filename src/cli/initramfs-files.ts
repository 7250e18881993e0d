// `initramfs --file SRC:DEST` arguments: each DEST a new file's path in the image, checked before any work.
import { UsageError } from "../errors.ts";
import { archiveName } from "../initramfs/cpio.ts";
import { BUILTIN_DEVICES, BUILTIN_DIRS, CONFIG_PATH, EXE_PATH, INIT_PATH } from "../initramfs/build.ts";

export interface ExtraFile {
  src: string;
  dest: string;
}

/** What the image holds before any --file: archive name -> what it is, for the message. */
function builtinEntries(withConfig: boolean): Map<string, { what: string; dir: boolean }> {
  const taken = new Map<string, { what: string; dir: boolean }>();
  for (const [d] of BUILTIN_DIRS) taken.set(d, { what: `the image's directory /${d}`, dir: true });
  for (const [d] of BUILTIN_DEVICES) taken.set(d, { what: `the image's device node /${d}`, dir: false });
  taken.set(archiveName(INIT_PATH), { what: `the pre-init, installed as ${INIT_PATH}`, dir: false });
  taken.set(archiveName(EXE_PATH), { what: `the executable, installed as ${EXE_PATH}`, dir: false });
  if (withConfig) taken.set(archiveName(CONFIG_PATH), { what: `the --config file, installed as ${CONFIG_PATH}`, dir: false });
  return taken;
}

/** The entry `name` collides with: itself, a file or device it would sit under, or a file it would have to be the directory of. */
function collision(name: string, taken: Map<string, { what: string; dir: boolean }>): string | null {
  const same = taken.get(name);
  if (same) return same.what;
  const parts = name.split("/");
  for (let i = 1; i < parts.length; i++) {
    const above = taken.get(parts.slice(0, i).join("/"));
    if (above && !above.dir) return `${above.what}, which is not a directory`;
  }
  for (const [k, v] of taken) if (k.startsWith(`${name}/`)) return `${v.what}, whose directory /${name} would be a file`;
  return null;
}

/**
 * Parses the --file arguments. A destination that names no file (`/.`, `//`, a `..` component),
 * that ends with "/", or that collides with an entry the image always holds (`/init`,
 * `/sbin/vector-boot`, `/etc`, `/dev/console`, the --config file) or with another --file is a
 * UsageError (64) naming the argument: they failed the build with exit 65 (`cpio.path`, or
 * `initramfs.path: /init added twice as file and file`), naming neither --file nor the argument.
 */
export function extraFiles(args: readonly string[], withConfig: boolean): ExtraFile[] {
  const taken = builtinEntries(withConfig);
  const files: ExtraFile[] = [];
  for (const f of args) {
    const src = f.slice(0, f.indexOf(":"));
    const dest = f.slice(f.indexOf(":") + 1);
    const refuse = (problem: string): never => {
      throw new UsageError(`initramfs: --file ${JSON.stringify(f)}: the destination ${JSON.stringify(dest)} ${problem}`);
    };
    let name: string;
    try {
      name = archiveName(dest);
    } catch {
      return refuse(`names no file in the image (the root, or a "." or ".." component): give the file's absolute path, e.g. SRC:/etc/NAME`);
    }
    if (dest.endsWith("/")) refuse(`ends with "/", a directory: give the file's absolute path, e.g. SRC:${dest}NAME`);
    const clash = collision(name, taken);
    if (clash !== null) refuse(`collides with ${clash}: choose another path`);
    taken.set(name, { what: `--file ${JSON.stringify(f)}`, dir: false });
    files.push({ src, dest });
  }
  return files;
}
