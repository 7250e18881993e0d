// A number written in decimal, as a person types one on a command line: "1.5", "-2", "3e-4" (no hex, no "Infinity", no empty text).

/** Decimal digits with an optional sign, fraction and exponent; what `Number()` would also turn "" or "0x10" into is refused. */
export const decimalNumber = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Message for text that is not a decimal number. */
export const notDecimal = "must be a decimal number";
