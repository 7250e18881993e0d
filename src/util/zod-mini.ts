// zod/mini with zod's English messages, for the schemas built before the first beat (classic zod's chained schemas cost ~3x to build).
import { en } from "zod/locales";
import * as z from "zod/mini";

z.config(en());

/** An integer in [min, max] (the config's most common field). */
export const intIn = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));

export { z };
