// A helper that sends one sd_notify datagram to $NOTIFY_SOCKET and exits at once (as `systemd-notify --no-block`), compiled for a test.
import { compileC } from "./compile-c.ts";

/** Sends argv[1] to $NOTIFY_SOCKET ("@name": abstract) in one datagram and exits at once. */
const SENDER = `#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (argc < 2 || !path) return 2;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t n = strlen(path);
  if (n >= sizeof a.sun_path) return 3;
  memcpy(a.sun_path, path, n);
  if (path[0] == '@') a.sun_path[0] = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  return sendto(fd, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0 ? 4 : 0;
}
`;

/** The sender compiled in `dir`: its path. */
export const notifySender = (dir: string): string => compileC(dir, "notify-once", SENDER);
