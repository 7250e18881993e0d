"""Connecting to a Unix socket whose path is longer than sun_path (107 bytes + NUL): through /proc/self/fd/N of its directory."""
import os

SUN_PATH_MAX = 107
_ALIAS_PREFIX_MAX = len("/proc/self/fd/2147483647/")


def connect_unix(sock, path):
    """sock.connect(path), also for a path too long for a sockaddr_un.

    A longer path is reached through an O_PATH descriptor of its directory (close-on-exec, no read
    permission needed): the kernel resolves /proc/self/fd/N/<name> to the same socket file. The
    descriptor is closed once connect returns. A name too long even for that raises OSError
    (ENAMETOOLONG) naming the path and the limit.
    """
    raw = os.fsencode(path)
    if len(raw) <= SUN_PATH_MAX:
        sock.connect(path)
        return
    directory, name = os.path.split(raw)
    if not name or len(name) + _ALIAS_PREFIX_MAX > SUN_PATH_MAX:
        raise OSError(36, "%s is %d bytes, over the %d-byte limit of a Unix socket address, and its file name is too long "
                      "to be reached through /proc/self/fd/N/ of its directory" % (path, len(raw), SUN_PATH_MAX))
    try:
        fd = os.open(directory or b".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise OSError(e.errno, "cannot open the directory of %s (%d bytes, over the %d-byte limit of a Unix socket address, "
                      "reached through /proc/self/fd/N/): %s" % (path, len(raw), SUN_PATH_MAX, e.strerror))
    try:
        sock.connect(b"/proc/self/fd/%d/%s" % (fd, name))
    finally:
        os.close(fd)
