// Which stop or restart of a service was asked last: the latest request wins, and a restart still stopping its service is handed over at a re-exec.
export type StopKind = "stop" | "restart";

export class StopRequests {
  /** The latest stop or restart asked of each service, by a number counting every such request. */
  private readonly last = new Map<string, { kind: StopKind; id: number }>();
  private count = 0;
  /** Restarts (by request number) whose stop is still under way: a live re-exec hands them over. */
  private readonly restartsStopping = new Set<number>();

  /** A new request's number. */
  next(): number {
    return ++this.count;
  }

  /** Request `id` of `kind` is now the latest for `name`. */
  asked(name: string, kind: StopKind, id: number): void {
    this.last.set(name, { kind, id });
  }

  /** Restart `id` is stopping its service (true) or is past its stop (false). */
  stopping(id: number, under: boolean): void {
    if (under) this.restartsStopping.add(id);
    else this.restartsStopping.delete(id);
  }

  /** Request `id` for `name` is still the latest (null), or the kind of the later one that won. */
  overriddenBy(name: string, id: number): StopKind | null {
    const l = this.last.get(name);
    return l === undefined || l.id === id ? null : l.kind;
  }

  /** Whether the latest request for `name` is a restart still stopping it (handed over at a re-exec). */
  restartPending(name: string): boolean {
    const l = this.last.get(name);
    return l !== undefined && l.kind === "restart" && this.restartsStopping.has(l.id);
  }

  /**
   * A restart the previous image was stopping `name` for (it stayed stopped at the re-exec): `start`
   * once `settled` resolves, unless a later stop or restart wins meanwhile.
   */
  resumeRestart(name: string, settled: Promise<void>, start: () => void): void {
    const mine = this.next();
    this.asked(name, "restart", mine);
    this.stopping(mine, true);
    void settled.then(() => {
      this.stopping(mine, false);
      if (this.overriddenBy(name, mine) === null) start();
    });
  }
}
