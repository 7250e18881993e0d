// A text cut to a bound in characters (UTF-16 units), marked with "…", never in the middle of a surrogate pair.

/** `s` itself when at most `max` units long, else its start and "…" in `max` units. */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = Math.max(0, max - 1);
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}
