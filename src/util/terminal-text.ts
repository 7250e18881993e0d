// Text from a running instance (a service's output or status) made safe for the operator's terminal.

/**
 * Control characters (C0, DEL, C1) become "?": a service, perhaps under another uid, could clear
 * the operator's screen, set the window title or forge lines through `logs` and `services`. A tab
 * is kept where `keepTab` says (log lines).
 */
export function printable(s: string, keepTab = false): string {
  return s.replace(keepTab ? /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g : /[\x00-\x1f\x7f-\x9f]/g, "?");
}
