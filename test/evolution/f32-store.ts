// Test stand-in weight store (F32 tensors only); its GGUF goes through src/gguf's one writer and reader.
import { ModelError } from "../../src/errors.ts";
import type { CheckpointableWeights, TensorInfo } from "../../src/evolution/weights.ts";
import { readGguf } from "../../src/gguf/reader.ts";
import type { GgufValue } from "../../src/gguf/value.ts";
import { crc32cUpdate } from "../../src/journal/crc32c.ts";
import { encodeModel } from "../../src/neural/export.ts";

const GGML_F32 = 0;
const enc = new TextEncoder();

export class F32Store implements CheckpointableWeights {
  /** Tensors in file order. The arrays are private copies (mutations never touch a mapping). */
  readonly tensors = new Map<string, { dims: number[]; data: Float32Array }>();
  metadata = new Map<string, bigint | string>();

  static synthetic(spec: Record<string, number>, seed = 1): F32Store {
    const s = new F32Store();
    let x = seed >>> 0;
    for (const [name, n] of Object.entries(spec)) {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = ((x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
      s.tensors.set(name, { dims: [n], data });
    }
    return s;
  }

  tensorInfo(name: string): TensorInfo | undefined {
    const t = this.tensors.get(name);
    return t ? { type: "F32", nElements: t.data.length } : undefined;
  }

  applyMutation(name: string, elementOffset: number, values: Float32Array): void {
    const t = this.tensors.get(name);
    if (!t || elementOffset < 0 || elementOffset + values.length > t.data.length) throw new ModelError(`mutation outside ${name}`);
    t.data.set(values, elementOffset);
  }

  /** CRC32C over every tensor's name and bytes, in order: equal weights give equal checksums. */
  checksum(): number {
    let c = 0;
    for (const [name, t] of this.tensors) {
      c = crc32cUpdate(c, enc.encode(name));
      c = crc32cUpdate(c, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    return c;
  }

  /** The store as a GGUF, through the one GGUF writer (src/gguf). */
  ggufChunks(extra: Record<string, bigint>): Uint8Array[] {
    const md = new Map<string, GgufValue>();
    for (const [k, v] of this.metadata) md.set(k, typeof v === "string" ? { type: 8, value: v } : { type: 10, value: v });
    for (const [k, v] of Object.entries(extra)) md.set(k, { type: 10, value: v });
    const tensors = [...this.tensors].map(([name, t]) => ({ name, type: GGML_F32, ne: t.dims, data: new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)) }));
    return [...encodeModel(md, tensors)];
  }

  /** Reads a GGUF of F32 tensors (with u32/u64/string metadata) through the one GGUF reader (src/gguf). */
  static fromGguf(b: Uint8Array): F32Store {
    const f = readGguf(b);
    const s = new F32Store();
    for (const [k, v] of f.metadata) {
      if (v.type === 8) s.metadata.set(k, v.value as string);
      else if (v.type === 10) s.metadata.set(k, v.value as bigint);
      else if (v.type === 4) s.metadata.set(k, BigInt(v.value as number));
      else throw new ModelError(`metadata ${k}: unsupported type ${v.type}`);
    }
    for (const t of f.tensors) {
      if (t.type !== GGML_F32) throw new ModelError(`${t.name}: only F32 supported by the stand-in store`);
      const copy = new Uint8Array(t.data); // private: mutations never touch the file's bytes
      s.tensors.set(t.name, { dims: [...t.ne], data: new Float32Array(copy.buffer) });
    }
    return s;
  }
}
