// READY=1 from a helper of the service that exits at once after sending (systemd-notify --no-block in a script) was dropped: its pid matched no service any more.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { runShippedAsync } from "../harness/artifact.ts";
import { bootArgs } from "./boot-args.ts";
import { compileC } from "../harness/compile-c.ts";
import { notifySender } from "../harness/notify-sender.ts";
import { killLeftovers, start, tempDir, waitFor, writeJson } from "./harness.ts";

afterEach(killLeftovers);

type Row = { name: string; state: string; ready: boolean; statusText: string | null };

/** kernelNamesExitedSenders' probe: a child sends and is reaped, then its pidfd is asked for its cgroup. */
const PROBE = `#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
struct info { uint64_t mask, cgroupid; uint32_t rest[12]; };
int main(void) {
  int sv[2], one = 1;
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0 || setsockopt(sv[0], SOL_SOCKET, 76, &one, sizeof one) < 0) return 1;
  pid_t p = fork();
  if (p == 0) { send(sv[1], "x", 1, 0); _exit(0); }
  waitpid(p, 0, 0);
  char b[8], ctl[128]; struct iovec iov = {b, sizeof b}; struct msghdr m = {0};
  m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = ctl; m.msg_controllen = sizeof ctl;
  if (recvmsg(sv[0], &m, 0) < 0) return 1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) if (c->cmsg_type == 4) {
    int fd; memcpy(&fd, CMSG_DATA(c), sizeof fd);
    struct info i = {.mask = 12};
    return ioctl(fd, _IOWR(0xFF, 11, struct info), &i) == 0 && (i.mask & 4) && i.cgroupid != 0 ? 0 : 1;
  }
  return 1;
}
`;

/**
 * Whether this kernel names the cgroup of a sender that has exited and been reaped (SO_PASSPIDFD,
 * Linux 6.5; PIDFD_GET_INFO for an exited process, 6.15) and has cgroup v2: what counting such a
 * sender needs. Probed with the same calls, in C.
 */
function kernelNamesExitedSenders(dir: string): boolean {
  let exe: string;
  try {
    exe = compileC(dir, "probe", PROBE);
  } catch {
    return false;
  }
  return Bun.spawnSync([exe]).exitCode === 0 && Bun.spawnSync(["grep", "-q", "cgroup2", "/proc/mounts"]).exitCode === 0;
}

const probeDir = tempDir();
const supported = kernelNamesExitedSenders(probeDir);
if (!supported) console.warn("sd-notify-short-lived-sender: skipped, this kernel cannot name an exited sender's cgroup (before Linux 6.15, or no cgroup v2)");

test.skipIf(!supported)(
  "READY=1 from a helper that exits right after sending (systemd-notify --no-block in a script) was dropped, its pid matching no service: each of five services now becomes ready, and the same message from a helper outside every service still counts for none",
  async () => {
    const dir = tempDir();
    const sender = notifySender(dir);
    // Five services whose shell runs the helper (the shell reaps it at once), then becomes the service.
    const helped = [0, 1, 2, 3, 4].map((i) => ({ name: `s${i}`, argv: ["/bin/sh", "-c", `${sender} "READY=1\nSTATUS=up-${i}" && exec sleep 1000`], ready: { notify: true, timeout_ms: 60_000 } }));
    // One that never reports: a message from outside every service must not make it ready.
    const silent = { name: "silent", argv: ["sleep", "1000"], ready: { notify: true, timeout_ms: 60_000 } };
    // Debug lines: the init says when it drops a message from no service's process.
    const cfg = writeJson(dir, "config.json", { pixel_test: false, log_level: "debug", run_dir: join(dir, "run"), state_dir: join(dir, "state"), services: [...helped, silent] });
    const run = start(["boot", ...bootArgs(), "--config", cfg]);
    const list = async (): Promise<Row[]> => {
      const r = await runShippedAsync(["services", "--json", "--socket", join(dir, "run", "control")]);
      return r.code === 0 ? (JSON.parse(r.out) as Row[]) : [];
    };
    await waitFor(async () => (await list()).filter((r) => r.name.startsWith("s") && r.ready).length === 5, 20_000, "the five helped services to become ready", { pollMs: 200 });
    const rows = await list();
    for (let i = 0; i < 5; i++) expect(rows.find((r) => r.name === `s${i}`)).toMatchObject({ state: "running", ready: true, statusText: `up-${i}` });
    // The same helper run from the test, outside every service's cgroup, exits as fast: dropped.
    const outside = Bun.spawnSync([sender, "READY=1\nSTATUS=forged"], { env: { ...process.env, NOTIFY_SOCKET: join(dir, "run-notify", "notify") } });
    expect(outside.exitCode).toBe(0);
    await waitFor(() => run.log().includes("sd_notify message from a process of no service; dropped"), 10_000, "the init to drop the message from outside");
    expect((await list()).find((r) => r.name === "silent")).toMatchObject({ ready: false, statusText: null });
    process.kill(run.proc.pid, "SIGTERM");
    expect((await run.result(15_000)).code).toBe(0);
  },
  60_000,
);
