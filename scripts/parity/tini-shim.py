#!/usr/bin/python3
# tini's command line mapped onto vector-boot's tini mode, for running tini's own tests (scripts/parity-suites.ts).
# The options are the same letters (-s -p -v -w -g -e -l -h, --version); this only puts the "--" that
# vector-boot needs before the command (tini also takes `tini [OPTIONS] PROGRAM [ARGS]`).
import os
import sys

VB = os.environ["PARITY_VECTOR_BOOT"]
WITH_VALUE = "pe"

args = sys.argv[1:]
opts = []
i = 0
while i < len(args):
    a = args[i]
    if a == "--":
        i += 1
        break
    if a == "--version":
        opts.append(a)
        i += 1
        continue
    if not a.startswith("-") or a == "-":
        break
    j = 1
    while j < len(a):
        c = a[j]
        if c in WITH_VALUE:
            value = a[j + 1:]
            if value == "" and i + 1 < len(args):
                i += 1
                value = args[i]
            opts += ["-" + c, value]
            break
        opts.append("-" + c)
        j += 1
    i += 1

os.execv(VB, ["vector-boot", *opts, "--", *args[i:]])
