#!/usr/bin/python3
# dumb-init's command line mapped onto vector-boot's tini mode, for running dumb-init's own tests (scripts/parity-suites.ts).
#
# dumb-init                          vector-boot
#   (default: setsid mode)             -g --leftovers=term-exit -r 20:19 -r 21:19 -r 22:19
#   -c / DUMB_INIT_SETSID=0            -c --leftovers=term-exit
#   -r s:r, -v, -h, -V                 -r s:r, -v, -h, --version
# In setsid mode dumb-init's child leads a session of its own, where the kernel would not stop it for
# TSTP/TTIN/TTOU, so dumb-init sends it SIGSTOP instead (its default rewrites, which -r overrides);
# vector-boot's child stays in the init's session and gets the job-control signal itself.
import os
import sys

VB = os.environ["PARITY_VECTOR_BOOT"]

args = sys.argv[1:]
setsid = os.environ.get("DUMB_INIT_SETSID", "") != "0"
opts = []
i = 0
while i < len(args):
    a = args[i]
    if a == "--":
        i += 1
        break
    if not a.startswith("-") or a == "-":
        break
    if a in ("-c", "--single-child"):
        setsid = False
    elif a in ("-v", "--verbose"):
        opts.append("-v")
    elif a in ("-h", "--help"):
        opts.append("-h")
    elif a in ("-V", "--version"):
        opts.append("--version")
    elif a in ("-r", "--rewrite"):
        opts.append("-r")
        if i + 1 < len(args):
            i += 1
            opts.append(args[i])
    elif a.startswith("--rewrite="):
        opts.append(a)
    else:
        opts.append(a)  # vector-boot refuses it as dumb-init does (exit status differs: 64)
    i += 1

mode = ["-g", "-r", "20:19", "-r", "21:19", "-r", "22:19"] if setsid else ["-c"]
os.execv(VB, ["vector-boot", *mode, "--leftovers=term-exit", *opts, "--", *args[i:]])
