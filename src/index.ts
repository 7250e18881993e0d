// The library nature: what `import ... from "vector-boot"` gives another Bun project.
export * from "./errors.ts";
// The library logs like the init (one line per event, to stderr): its level, stderr on or off, and a sink of its own.
export { setLogLevel, setLogStderr, setLogSink, type Level } from "./log.ts";
export * from "./gguf/index.ts";
export { configSchema, serviceSchema, type Config, type ServiceConfig } from "./config/schema.ts";
export { parseCmdline } from "./config/cmdline.ts";
export { validateConfig, loadConfig } from "./config/load.ts";
export { openModelSource, type ModelSource } from "./rts/model-source.ts";
export * from "./neural/index.ts";
export { openEvolution, EvolutionConfigSchema, type Evolution, type EvolutionOptions, type EvolutionStats } from "./evolution/evolution.ts";
export { runtimeWeights, runtimeGgufExporter } from "./evolution/runtime-weights.ts";
export { Journal } from "./journal/journal.ts";
export { recoverJournal } from "./journal/recovery.ts";
export { crc32c } from "./journal/crc32c.ts";
export { Heartbeat, heartbeatConfigSchema, hwMmioFields, cortexInputs, MetabolicDaemon, type ServiceControl, type CortexModel } from "./heartbeat/index.ts";
