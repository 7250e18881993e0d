// The heartbeat's public API: the loop, its config schema, the service and model interfaces, hw.mmio layout.
export { Heartbeat } from "./heartbeat.ts";
export type { BeatInfo, HeartbeatOptions, HeartbeatStats } from "./heartbeat-types.ts";
export { heartbeatConfigSchema, interruptActions, interruptHandlerSchema, type HeartbeatConfig, type HeartbeatConfigInput, type InterruptHandler } from "../config/heartbeat-schema.ts";
export type { ServiceControl, ServiceView } from "./service-control.ts";
export type { CortexModel } from "./cortex-adapter.ts";
export type { HeartbeatRecord } from "./interrupt-dispatch.ts";
export { cortexInputs, HW_MMIO_FIELDS, HW_MMIO_VERSION, HwFlag, hwIndex, hwMmioFields, type HwMmioField } from "../hw/hw-mmio-layout.ts";
export { ProcSampler, type SamplerOptions } from "./proc-sampler.ts";
export { MetabolicDaemon, type MetabolicOptions, type MetabolicStats } from "./metabolic-daemon.ts";
