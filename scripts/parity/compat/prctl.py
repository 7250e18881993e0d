# Stand-in for python-prctl as tini's subreaper-proxy.py uses it: set_child_subreaper (prctl PR_SET_CHILD_SUBREAPER).
import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36


def set_child_subreaper(flag):
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, int(flag), 0, 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
