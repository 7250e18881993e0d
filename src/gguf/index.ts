// Public GGUF API: reader, writer, ggml type table, (de)quantization.
export * from "./ggml-types.ts";
export * from "./value.ts";
export * from "./reader.ts";
export * from "./writer.ts";
export * from "./half.ts";
export * from "./dequant.ts";
export * from "./quantize.ts";
export * from "./endian.ts";
