// What kind of value a caller passed, for error messages: "null", "Array", "Float64Array", "number", ...

/** `null`, the constructor name of an object ("object" without one), or the `typeof` of anything else. */
export function kindOf(v: unknown): string {
  return v === null ? "null" : typeof v === "object" ? (v.constructor?.name ?? "object") : typeof v;
}
