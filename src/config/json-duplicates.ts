// The first key given twice in one JSON object: JSON.parse keeps only the last, so a second "services" list silently replaced the first.

/**
 * Path of the first duplicated key in `text` (e.g. `services[1].env.A`), or null. `text` must be
 * valid JSON (JSON.parse accepted it): this only walks its structure, keys compared after their
 * escapes are decoded.
 */
export function duplicateKey(text: string): string | null {
  type Frame = { keys: Set<string> | null; path: string; index: number; key: string | null };
  const stack: Frame[] = [];
  const here = () => stack[stack.length - 1];
  const childPath = (f: Frame | undefined) => (f === undefined ? "" : f.keys ? join(f.path, f.key!) : `${f.path}[${f.index}]`);
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const f = here();
      if (expectKey && f?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (f.keys.has(key)) return join(f.path, key);
        f.keys.add(key);
        f.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      stack.push({ keys: c === "{" ? new Set() : null, path: childPath(here()), index: 0, key: null });
      expectKey = c === "{";
    } else if (c === "}" || c === "]") {
      stack.pop();
      expectKey = false;
    } else if (c === ",") {
      const f = here();
      if (f?.keys) expectKey = true;
      else if (f) f.index++;
    }
  }
  return null;
}

const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);
