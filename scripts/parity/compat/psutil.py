# Stand-in for the few psutil calls tini's tests make (Process.children/parent/name, process_iter), read from /proc.
import os


class NoSuchProcess(Exception):
    pass


def _stat(pid):
    try:
        with open("/proc/{0}/stat".format(pid)) as f:
            s = f.read()
    except OSError:
        raise NoSuchProcess(pid)
    return s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()


def pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


class Process(object):
    def __init__(self, pid=None):
        self.pid = os.getpid() if pid is None else pid
        _stat(self.pid)

    def parent(self):
        return Process(int(_stat(self.pid)[1][1]))

    def name(self):
        return _stat(self.pid)[0]

    def children(self, recursive=False):
        kids = []
        for p in pids():
            try:
                if int(_stat(p)[1][1]) == self.pid:
                    kids.append(Process(p))
            except NoSuchProcess:
                pass
        if recursive:
            for k in list(kids):
                try:
                    kids += k.children(True)
                except NoSuchProcess:
                    pass
        return kids


def process_iter():
    for p in pids():
        try:
            yield Process(p)
        except NoSuchProcess:
            pass
