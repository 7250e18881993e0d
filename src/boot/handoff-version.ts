// The live re-exec handoff's version: this image writes and reads it, and says so in `--version` for the next image's preflight.

/**
 * Version of the handoff file this image writes (src/boot/handoff.ts). A change of its shape is a new
 * version. 3: a service may be `done` (a oneshot that exited 0), a state images that read only 2
 * refuse: such an image dropped the services part and started every service a second time beside
 * the running ones, so a re-exec into it is refused by the preflight instead. 4: a service being
 * killed for a failed check says so (`killedFor`), which images that read only 2 and 3 refuse as an
 * unknown key. 5: a service's pre_start or post_stop still running is handed over (`hooks`; images
 * before it ran a second pre_start beside it), a key images that read only 2 to 4 refuse. 6: the
 * control socket's listener is handed over (part `control`: the next image adopts it, so a client
 * that connects during the exec waits in its backlog instead of being refused) and a starting
 * service's readiness wait, with any EXTEND_TIMEOUT_USEC, is carried (`readyLeftMs`). Images that
 * read only 2 to 5 refuse the file (the preflight refuses a re-exec into one: booting fresh, it
 * would have kept the inherited listener open and found its own socket path in use). 7: a stopping
 * service whose main process had ended, its stop waiting for the rest of its run, is handed over as
 * such (`leftovers`: its process groups); images that read only 2 to 6 refuse the key (they made it
 * "pending": no SIGKILL after its grace, no post_stop, a later start beside the leftovers). 8: the
 * services part is an object, `{services, notify}`: the sd_notify socket stays open across the
 * execve (what a service sent during the exec waits in it; images before closed it, and a READY=1
 * sent meanwhile was lost), and a service's `readyForMs` (only a run ready for stable_after_ms resets
 * its back-off). Images that read only 2 to 7 refuse the object. 9: the services part says when it
 * was taken (`atBoottimeMs`: the next image moves every age and time left in it on by the time
 * since), and every service holding a process hands over its run's process groups; images that read
 * only 2 to 8 refuse the key (they started every service afresh beside the running ones). 10: each
 * service's last output lines (`logTail`: `logs -f` reads on through the exec; the lines read after
 * a follower's last poll were lost with the old image's ring), a key images that read only 2 to 9 refuse.
 * 11: how long ago a service holding a process got its stop signal (`signalledForMs`: the SIGKILL
 * line says how long the signal was ignored; it named grace_ms whatever the wait), a key images that
 * read only 2 to 10 refuse. 12: the state directory's lock is held across the exec (the evolution
 * part's `stateLock`, its two descriptors kept open: it was let go at the exec and taken again only in
 * the next image's evolution phase, after its model load, and another init or the offline `journal`
 * command could take the directory meanwhile), and a service past its grace says that its timer is
 * the final wait after SIGKILL (`sigkilled`: the next image re-armed that time as a grace, then sent a
 * second SIGKILL and waited KILL_WAIT_MS more). Images that read only 2 to 11 refuse the file (the
 * preflight refuses a re-exec into one).
 */
export const HANDOFF_VERSION = 12;

/**
 * The versions this image reads: 2 has the shape of 3 without `done`; 3 that of 4 without
 * `killedFor`; 4 that of 5 without `hooks`; 5 that of 6 without the `control` part and `readyLeftMs`
 * (the control socket is then bound anew, and a starting service waits its whole readiness timeout);
 * 6 that of 7 without `leftovers` (a stop waiting for the rest of a run resumes with no process
 * group to signal: with cgroups on its cgroup is waited for and killed as before); 7 that of 8 with
 * the services part a list (no notify socket handed over, no `readyForMs`: a running service counts
 * as ready since its start); 8 that of 9 without `atBoottimeMs` (timers resume as handed over);
 * 9 that of 10 without `logTail` (a follower misses the lines the old ring had after its last poll);
 * 10 that of 11 without `signalledForMs` (the SIGKILL line then says "through its grace period");
 * 11 that of 12 without `stateLock` (the state directory is locked anew in the evolution phase) and
 * `sigkilled` (a stop's timer resumes as a grace).
 */
export const HANDOFF_READS: readonly number[] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

/** `vector-boot --version`: the preflight of a live re-exec reads the handoff versions from it. */
export const versionLine = (version: string): string => `vector-boot ${version} (bun ${Bun.version}, handoff ${HANDOFF_READS.join(",")})\n`;

/**
 * The handoff versions a `--version` output says its image reads, or null when it is not a
 * vector-boot's (`/bin/true --version` exits 0 too, and PID 1 exec'd it: the machine panicked).
 */
export function handoffVersionsIn(output: string): number[] | null {
  const m = /^vector-boot \S+ \([^)]*\bhandoff (\d+(?:,\d+)*)\)$/m.exec(output);
  return m ? m[1]!.split(",").map(Number) : null;
}
