// The first string of a parsed config (a value or a key) with a NUL in it: a C string ends there.

/**
 * Path of the first string in `raw` that contains U+0000 (e.g. `services[0].env.A`; a NUL in a key
 * is shown as `\u0000`), or null. JSON lets a file say "\u0000", but what the init hands on (an
 * environment variable, a directory, a path) is a C string: a service's variable whose value held
 * one was dropped without a word, and a `cwd` of "/srv\u0000x" was cut to "/srv".
 */
export function nulString(raw: unknown, path = ""): string | null {
  if (typeof raw === "string") return raw.includes("\0") ? path || "(top level)" : null;
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i++) {
      const found = nulString(raw[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  for (const [key, value] of Object.entries(raw)) {
    const here = path === "" ? key.replaceAll("\0", "\\u0000") : `${path}.${key.replaceAll("\0", "\\u0000")}`;
    if (key.includes("\0")) return here;
    const found = nulString(value, here);
    if (found !== null) return found;
  }
  return null;
}
