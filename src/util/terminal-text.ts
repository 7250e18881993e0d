// Text from a running instance (a service's output or status) or a file's names made safe for the operator's terminal.

/**
 * Control characters (C0, DEL, C1) become "?": a service, perhaps under another uid, could clear
 * the operator's screen, set the window title or forge lines through `logs` and `services`. A tab
 * is kept where `keepTab` says (log lines).
 */
export function printable(s: string, keepTab = false): string {
  return s.replace(keepTab ? /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g : /[\x00-\x1f\x7f-\x9f]/g, "?");
}

/**
 * A name printed one per line, reversibly: a backslash becomes `\\`, a control character (C0, DEL,
 * C1) a C escape (`\n`, `\t`, `\r`, else `\xNN`), so a name holding a newline cannot pass for two lines.
 */
export function escapedName(s: string): string {
  const named: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r" };
  return s.replace(/[\\\x00-\x1f\x7f-\x9f]/g, (c) => named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** DEL and the C1 controls of JSON text as \u escapes (they can only stand inside its strings): JSON.stringify leaves them raw (an 8-bit CSI). */
export function escapeC1(json: string): string {
  return json.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
