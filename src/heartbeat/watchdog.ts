// The hardware watchdog: opened (armed) at start when the device exists, petted each beat, disarmed by magic close.
import { closeSync, constants, existsSync, fstatSync, openSync, statSync, writeSync } from "node:fs";
import { logger } from "../log.ts";
import { setInheritable } from "../sys/process.ts";

const log = logger("watchdog");
// Plain bytes: a Buffer built at import cost every boot ~0.1 ms of cold code, watchdog or not.
const pet = Uint8Array.of(0);
const magic = Uint8Array.of(0x56); // "V"

/**
 * Linux watchdog protocol: opening the device starts the timer; every write restarts it; writing
 * "V" then closing stops it (the "magic close", unless the driver was built with nowayout). If the
 * process dies without the magic close, the machine resets when the timeout expires: exactly the
 * protection wanted when the heartbeat stops.
 */
export class Watchdog {
  private fd: number | null = null;
  private keeper: ReturnType<typeof setInterval> | null = null;
  pets = 0;
  errors = 0;

  constructor(readonly path: string) {}

  /** Opens the device if it exists. Returns whether a watchdog is armed; never throws. */
  open(): boolean {
    if (this.fd !== null) return true;
    if (!existsSync(this.path)) return false;
    try {
      // Not "w" (O_CREAT | O_TRUNC: a path naming a regular file was emptied) and never waiting
      // (O_NONBLOCK: a FIFO without a reader held the boot in open()), never a controlling terminal
      // (O_NOCTTY: a path naming a tty). A device or a FIFO only.
      const fd = openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      if (fstatSync(fd).isFile()) {
        closeSync(fd);
        log.warn("watchdog path is a regular file, not a device; running without it", { device: this.path });
        return false;
      }
      this.fd = fd;
      log.info("watchdog armed", { device: this.path });
      return true;
    } catch (err) {
      log.warn("watchdog present but cannot be opened; running without it", { device: this.path, error: (err as NodeJS.ErrnoException).code ?? String(err) });
      return false;
    }
  }

  get armed(): boolean {
    return this.fd !== null;
  }

  /** The open device, for the next image at a live re-exec (null when not armed). */
  get descriptor(): number | null {
    return this.fd;
  }

  /**
   * Takes over the device the previous image left open (a live re-exec): it stays armed throughout.
   * Only once `fd` checks out as the file at `path` (the same device, or the same FIFO): a number that
   * is something else by now (closed and reused, a file put there between the images) would have been
   * petted, a zero byte written into it every beat. False then: the caller opens the device anew.
   */
  adopt(fd: number): boolean {
    const why = heldProblem(fd, this.path);
    if (why !== null) {
      log.warn("watchdog descriptor handed over at the re-exec not adopted; opening the device anew", { device: this.path, fd, why });
      return false;
    }
    this.fd = fd;
    setInheritable(fd, false);
    log.info("watchdog adopted", { device: this.path, fd });
    return true;
  }

  /**
   * Whether the device this one holds is the one at `path` (the config may name it another way,
   * /dev/watchdog0 for /dev/watchdog): a live re-exec's new image keeps the device it adopted then.
   */
  isDeviceAt(path: string): boolean {
    return this.fd !== null && heldProblem(this.fd, path) === null;
  }

  /** Keeps `fd` open across execve (or not): set before a re-exec, undone if the exec fails. */
  handOver(inherit: boolean): void {
    if (this.fd !== null) setInheritable(this.fd, inherit);
  }

  /**
   * Pets on a timer from now on, when the beat no longer does (shutdown, a re-exec's handover): the
   * device stays armed until reboot(2) (or the exec), and if the shutdown hangs past its timeout the
   * machine resets.
   */
  keepAlive(everyMs = 1000): void {
    if (this.keeper || this.fd === null) return;
    this.pet();
    this.keeper = setInterval(() => this.pet(), everyMs);
    this.keeper.unref?.();
  }

  /** The beat pets again (a re-exec's handover ended without an exec): the timer stops. */
  stopKeepAlive(): void {
    if (this.keeper) clearInterval(this.keeper);
    this.keeper = null;
  }

  pet(): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, pet);
      this.pets++;
    } catch (err) {
      this.errors++;
      if (this.errors === 1 || this.errors % 100 === 0) log.warn("watchdog pet failed", { errors: this.errors, error: String(err) });
    }
  }

  /** Magic close: the watchdog stops instead of resetting the machine. Idempotent. */
  disarm(): void {
    if (this.keeper) clearInterval(this.keeper);
    this.keeper = null;
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      writeSync(fd, magic);
    } catch (err) {
      log.warn("watchdog magic write failed", { error: String(err) });
    }
    try {
      closeSync(fd);
      log.info("watchdog disarmed", { device: this.path, pets: this.pets });
    } catch (err) {
      log.warn("watchdog close failed", { error: String(err) });
    }
  }
}

/** Why the descriptor `fd` is not the file at `path` (the same device, or the same FIFO), or null when it is. */
function heldProblem(fd: number, path: string): string | null {
  try {
    const held = fstatSync(fd);
    let named: ReturnType<typeof statSync>;
    try {
      named = statSync(path);
    } catch (err) {
      // The path cannot be looked at (gone, renamed, /dev remounted): a character device held is
      // still the one the previous image opened (a reused number is a file, a socket or a pipe).
      // Refused, it stayed open and unpetted while the path could not be opened again either (a
      // watchdog opens once: EBUSY): the machine reset at its timeout.
      if (!held.isCharacterDevice()) throw err;
      log.warn("watchdog path cannot be checked; adopting the descriptor handed over", { device: path, fd, error: (err as NodeJS.ErrnoException).code ?? String(err) });
      named = held;
    }
    const same = held.isCharacterDevice() ? named.isCharacterDevice() && held.rdev === named.rdev : held.dev === named.dev && held.ino === named.ino;
    return same ? null : `it is not ${path} (${held.isFile() ? "a regular file" : held.isCharacterDevice() ? "another device" : "another file"})`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}
