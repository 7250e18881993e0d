// zod/mini with zod's English messages, for the schemas built before the first beat (classic zod's chained schemas cost ~3x to build).
import { en } from "zod/locales";
import * as z from "zod/mini";

z.config(en());

/** An integer in [min, max] (the config's most common field). */
export const intIn = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));

/** A descriptor a live re-exec's handoff names (3 and up: never stdio). */
export const handedFd = () => z.int().check(z.minimum(3));

/**
 * `z.record` that refuses a key named `__proto__` instead of dropping it: zod leaves that key out of
 * its output without an issue, so a service env var or an interrupt of that name vanished silently.
 */
export const recordOf = <K extends z.core.$ZodRecordKey, V extends z.core.SomeType>(key: K, value: V) =>
  z.pipe(
    z.custom<unknown>((v) => typeof v !== "object" || v === null || !Object.hasOwn(v, "__proto__"), 'a key named "__proto__" cannot be used'),
    z.record(key, value),
  );

export { z };
