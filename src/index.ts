// The library nature: what `import ... from "vector-boot"` gives another Bun project.
export * from "./errors.ts";
export * from "./gguf/index.ts";
export { configSchema, serviceSchema, type Config, type ServiceConfig } from "./config/schema.ts";
export { parseCmdline } from "./config/cmdline.ts";
export { validateConfig, loadConfig } from "./config/load.ts";
export { openModelSource, type ModelSource } from "./rts/model-source.ts";
export * from "./neural/index.ts";
