// GGUF metadata values: the 13 value types, typed values that keep their type for round trips.

/** GGUF metadata value type ids (gguf_type). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

export const GGUF_VALUE_TYPE_NAMES: readonly string[] = [
  "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
  "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
];

/** Encoded size of a fixed-size scalar type, 0 for STRING and ARRAY. */
export const GGUF_SCALAR_SIZE: readonly number[] = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];

export type GgufNumberType = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 12;
export type GgufBigIntType = 10 | 11;
/** Any value type an array item may have (nested arrays are not supported). */
export type GgufItemType = GgufNumberType | GgufBigIntType | 7 | 8;

/** Typed arrays used for numeric GGUF arrays, by item type. */
export interface GgufNumericArrays {
  0: Uint8Array;
  1: Int8Array;
  2: Uint16Array;
  3: Int16Array;
  4: Uint32Array;
  5: Int32Array;
  6: Float32Array;
  12: Float64Array;
  10: BigUint64Array;
  11: BigInt64Array;
}

export type GgufArray =
  | { [T in keyof GgufNumericArrays]: { type: 9; itemType: T; value: GgufNumericArrays[T] } }[keyof GgufNumericArrays]
  | { type: 9; itemType: 7; value: boolean[] }
  | { type: 9; itemType: 8; value: string[] };

/** One metadata value with its GGUF type, so a writer can emit it unchanged. */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 7; value: boolean }
  | { type: 8; value: string }
  | GgufArray;

/** The plain JS value of a metadata entry (typed arrays for numeric arrays). */
export type GgufPlainValue = GgufValue["value"];

/** Shorthands to build typed values for the writer. */
export const gv = {
  u8: (v: number): GgufValue => ({ type: 0, value: v }),
  i8: (v: number): GgufValue => ({ type: 1, value: v }),
  u16: (v: number): GgufValue => ({ type: 2, value: v }),
  i16: (v: number): GgufValue => ({ type: 3, value: v }),
  u32: (v: number): GgufValue => ({ type: 4, value: v }),
  i32: (v: number): GgufValue => ({ type: 5, value: v }),
  f32: (v: number): GgufValue => ({ type: 6, value: v }),
  bool: (v: boolean): GgufValue => ({ type: 7, value: v }),
  str: (v: string): GgufValue => ({ type: 8, value: v }),
  u64: (v: bigint): GgufValue => ({ type: 10, value: v }),
  i64: (v: bigint): GgufValue => ({ type: 11, value: v }),
  f64: (v: number): GgufValue => ({ type: 12, value: v }),
  strs: (v: string[]): GgufValue => ({ type: 9, itemType: 8, value: v }),
  bools: (v: boolean[]): GgufValue => ({ type: 9, itemType: 7, value: v }),
  u32s: (v: ArrayLike<number>): GgufValue => ({ type: 9, itemType: 4, value: Uint32Array.from(v) }),
  i32s: (v: ArrayLike<number>): GgufValue => ({ type: 9, itemType: 5, value: Int32Array.from(v) }),
  f32s: (v: ArrayLike<number>): GgufValue => ({ type: 9, itemType: 6, value: Float32Array.from(v) }),
} as const;

/**
 * Converts a plain value to a JSON-friendly one (bigints as decimal strings when unsafe, arrays as
 * arrays of at most `maxItems` items: only those are converted).
 */
export function toJsonValue(v: GgufValue, maxItems = Number.MAX_SAFE_INTEGER): unknown {
  const num = (x: number | bigint) =>
    typeof x === "bigint" ? (x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString()) : x;
  if (v.type === 9) {
    const out: unknown[] = [];
    const arr = v.value as ArrayLike<number | bigint | boolean | string>;
    const n = Math.min(arr.length, maxItems);
    for (let i = 0; i < n; i++) {
      const x = arr[i]!;
      out.push(typeof x === "bigint" || typeof x === "number" ? num(x) : x);
    }
    return out;
  }
  return typeof v.value === "bigint" ? num(v.value) : v.value;
}
