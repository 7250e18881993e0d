// A value built on first use: zod schemas built at module load cost start-up before the first beat.

/** Returns a function that builds the value on its first call and returns the same value after. */
export function lazy<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}
