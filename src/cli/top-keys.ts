// `vector-boot top`: bytes read from a raw-mode terminal -> key names (arrows in both cursor modes, Ctrl-C, letters).

export type Key = "up" | "down" | "page-up" | "page-down" | "home" | "end" | "quit" | "interrupt" | "sort" | "restart" | "yes" | "no" | "enter" | "escape" | "other";

/** Escape sequences: normal (CSI) and application (SS3) cursor mode, as xterm, tmux and the Linux console send them. */
const sequences: Array<[string, Key]> = [
  ["\x1b[A", "up"],
  ["\x1bOA", "up"],
  ["\x1b[B", "down"],
  ["\x1bOB", "down"],
  ["\x1b[5~", "page-up"],
  ["\x1b[6~", "page-down"],
  ["\x1b[H", "home"],
  ["\x1bOH", "home"],
  ["\x1b[1~", "home"],
  ["\x1b[F", "end"],
  ["\x1bOF", "end"],
  ["\x1b[4~", "end"],
];

const single: Record<string, Key> = {
  q: "quit",
  Q: "quit",
  "\x03": "interrupt",
  s: "sort",
  S: "sort",
  r: "restart",
  R: "restart",
  y: "yes",
  Y: "yes",
  n: "no",
  N: "no",
  k: "up",
  j: "down",
  "\r": "enter",
  "\n": "enter",
};

/**
 * Splits one read into keys. A read holds whole sequences (the terminal writes each at once); an
 * unknown escape sequence (a function key, a mouse report) is one `other`, never letters.
 */
export function decodeKeys(input: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < input.length) {
    if (input[i] === "\x1b") {
      const hit = sequences.find(([seq]) => input.startsWith(seq, i));
      if (hit) {
        keys.push(hit[1]);
        i += hit[0].length;
        continue;
      }
      // CSI / SS3 we do not know: skip to its final byte. A lone ESC is the Escape key.
      const m = /^\x1b(?:\[[0-?]*[ -/]*[@-~]|O.)/.exec(input.slice(i));
      if (m) {
        keys.push("other");
        i += m[0].length;
      } else {
        keys.push("escape");
        i += 1;
      }
      continue;
    }
    const ch = String.fromCodePoint(input.codePointAt(i)!);
    keys.push(single[ch] ?? "other");
    i += ch.length;
  }
  return keys;
}
