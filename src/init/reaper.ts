// Reaps every child (driven by SIGCHLD, with a slow safety poll) and routes each exit to its owner.
import { logger } from "../log.ts";
import { reapAll, type Reaped } from "../sys/process.ts";

const log = logger("reaper");

export type ExitListener = (r: Reaped) => void;

export class Reaper {
  private readonly owners = new Map<number, ExitListener>();
  private readonly listeners = new Set<(r: Reaped, owned: boolean) => void>();
  private poll: ReturnType<typeof setInterval> | null = null;
  private running = false;
  /** Exits held for an owner that registers later (after a re-exec: until the services adopt theirs). */
  private parked: Map<number, Reaped> | null = null;
  /** Children reaped that nobody owned (orphans re-parented to us). */
  orphansReaped = 0;
  totalReaped = 0;

  private readonly onSigchld = (): void => {
    this.reapNow();
  };

  /** Starts listening. `pollMs` bounds the delay if a SIGCHLD were ever coalesced away or missed. */
  start(pollMs = 1000): this {
    if (this.running) return this;
    this.running = true;
    process.on("SIGCHLD", this.onSigchld);
    // A ref'd timer: it also keeps the event loop alive while children may still exit.
    this.poll = setInterval(() => this.reapNow(), pollMs);
    this.reapNow();
    return this;
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    process.off("SIGCHLD", this.onSigchld);
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  /** Routes the exit of `pid` to `listener` (register right after spawning, before yielding). */
  watch(pid: number, listener: ExitListener): void {
    const held = this.parked?.get(pid);
    if (held) {
      this.parked!.delete(pid);
      queueMicrotask(() => safeCall(() => listener(held)));
      return;
    }
    this.owners.set(pid, listener);
  }

  /**
   * From now until `releaseParked`, an exit nobody owns is held instead of counted as an orphan, so
   * an owner that registers later still gets it (a service that ended during a live re-exec).
   */
  parkUnowned(): void {
    this.parked ??= new Map();
  }

  /** Ends parking: held exits nobody claimed are orphans. */
  releaseParked(): void {
    const held = this.parked;
    this.parked = null;
    for (const r of held?.values() ?? []) {
      this.orphansReaped++;
      log.debug("reaped orphan", { pid: r.pid, status: r.status });
    }
  }

  unwatch(pid: number): void {
    this.owners.delete(pid);
  }

  /** Called for every reaped child, owned or not. Returns an unsubscribe function. */
  onReap(fn: (r: Reaped, owned: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reaps all ready children now and dispatches them. Never throws (PID 1 must not die here). */
  reapNow(): Reaped[] {
    let reaped: Reaped[];
    try {
      reaped = reapAll();
    } catch (e) {
      log.error("waitpid failed", { error: String(e) });
      return [];
    }
    for (const r of reaped) {
      this.totalReaped++;
      const owner = this.owners.get(r.pid);
      if (owner) this.owners.delete(r.pid);
      else if (this.parked) {
        this.parked.set(r.pid, r);
        continue;
      } else {
        this.orphansReaped++;
        log.debug("reaped orphan", { pid: r.pid, status: r.status });
      }
      for (const fn of [...this.listeners]) safeCall(() => fn(r, owner !== undefined));
      if (owner) safeCall(() => owner(r));
    }
    return reaped;
  }
}

function safeCall(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    log.error("exit listener threw", { error: e instanceof Error ? e.message : String(e) });
  }
}
