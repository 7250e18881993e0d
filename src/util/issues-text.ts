// A zod error's issues as one line for people: "path: message; path: message".

/** Each issue as `path: message` (`root` names an issue of the value itself, whose path is empty), joined by "; ". */
export function issuesText(issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>, root = ""): string {
  return issues.map((i) => `${i.path.map(String).join(".") || root}: ${i.message}`).join("; ");
}
