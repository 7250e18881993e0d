// The boot phases, gathered so main.ts loads them only when it boots (tini mode starts without them).
export { earlySetup } from "./early-setup.ts";
export { consumeHandoff } from "./handoff.ts";
export { armReexec } from "./reexec-phase.ts";
export { loadBootConfig } from "./config-phase.ts";
export { startHeartbeat } from "./heartbeat-phase.ts";
export { prepareStorage } from "./storage-phase.ts";
export { dropPrivileges } from "./privileges.ts";
export { initRuntime, loadModel } from "./runtime-phase.ts";
export { openEvolutionPhase } from "./evolution-phase.ts";
export { startServices } from "./services-phase.ts";
export { startControl, type LiveParts } from "./control-phase.ts";
export { shutdown, type Closer } from "./shutdown.ts";
export { ShutdownSignals, type ShutdownRequest } from "./shutdown-signals.ts";
export { Reaper } from "../init/reaper.ts";
