// Every subcommand, loaded lazily so `vector-boot -- CMD` and `boot` start fast.
import type { Command } from "./command.ts";

export interface Entry {
  summary: string;
  load: () => Promise<{ command: Command }>;
}

/** Name -> module. Each module exports `command` (see command.ts). */
export const registry: Record<string, Entry> = {
  boot: { summary: "Boot: early setup (as PID 1), model, services, heartbeat, ordered shutdown", load: () => import("./boot.ts") },
  inspect: { summary: "Show a GGUF, RTS package or executable's model: header, metadata, tensors (--json)", load: () => import("./inspect.ts") },
  pixels: { summary: "Run the pixel head on R,G,B triples and print the result", load: () => import("./pixels.ts") },
  pack: { summary: "Pack an executable and a GGUF into an RTS container", load: () => import("./pack.ts") },
  unpack: { summary: "Extract the executable and the GGUF from an RTS container", load: () => import("./unpack.ts") },
  verify: { summary: "Check an RTS container's ranges and checksums", load: () => import("./verify.ts") },
  "rts-inspect": { summary: "Show an RTS container's header", load: () => import("./rts-inspect.ts") },
  journal: { summary: "Cortex journal: inspect | verify [--repair] | compact", load: () => import("./journal.ts") },
  initramfs: { summary: "Build a reproducible initramfs (cpio newc; zstd by default, xz, gzip or none)", load: () => import("./initramfs.ts") },
  mutate: { summary: "Submit a weight mutation to a running instance (control socket)", load: () => import("./mutate.ts") },
  status: { summary: "Status of a running instance", load: () => import("./status.ts") },
  services: { summary: "List the services of a running instance", load: () => import("./services.ts") },
  top: { summary: "Live view of a running instance: services, heartbeat, interrupts, journal (keys: q s r arrows)", load: () => import("./top.ts") },
  logs: { summary: "Show (and follow) a service's output from a running instance", load: () => import("./logs.ts") },
  restart: { summary: "Restart a service of a running instance", load: () => import("./service-ctl.ts") },
  stop: { summary: "Stop a service of a running instance", load: () => import("./service-ctl.ts").then((m) => ({ command: m.stopCommand })) },
  start: { summary: "Start a stopped service of a running instance", load: () => import("./service-ctl.ts").then((m) => ({ command: m.startCommand })) },
  poweroff: { summary: "Power a running instance off in order", load: () => import("./power.ts") },
  reboot: { summary: "Reboot a running instance in order", load: () => import("./power.ts").then((m) => ({ command: m.rebootCommand })) },
  reexec: { summary: "Re-exec a running instance live, keeping its services", load: () => import("./reexec.ts") },
  fleet: { summary: "Fleet (etcd): status of the nodes, fleet-wide mutations", load: () => import("./fleet.ts") },
};
