#!/usr/bin/python3
# Runs tini's test/run_inner_tests.py unchanged except that each `assert` is counted instead of ending
# the run, grouped by the case tini prints ("Running ..."); prints PARITY-RESULT {json} at the end.
import ast
import builtins
import json
import sys
import traceback

path = sys.argv[1]
cases = {}
order = []
current = ["(before the first case)"]
real_print = builtins.print


def case(name):
    if name not in cases:
        cases[name] = {"pass": 0, "fail": 0, "first_failure": None}
        order.append(name)
    return cases[name]


def tracking_print(*args, **kwargs):
    if args and isinstance(args[0], str) and args[0].lower().startswith("running"):
        current[0] = args[0]
        case(args[0])
    real_print(*args, **kwargs)
    sys.stdout.flush()


def parity_check(ok, message):
    c = case(current[0])
    if ok:
        c["pass"] += 1
        return
    c["fail"] += 1
    if c["first_failure"] is None:
        try:
            c["first_failure"] = str(message())[:600]
        except Exception as e:  # the message itself may fail to format
            c["first_failure"] = "assertion failed ({0})".format(e)


class CountAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        self.generic_visit(node)
        msg = node.msg if node.msg is not None else ast.Constant(value="assertion failed")
        lam = ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]), body=msg)
        call = ast.Call(func=ast.Name(id="__parity_check", ctx=ast.Load()), args=[node.test, lam], keywords=[])
        return ast.copy_location(ast.Expr(value=call), node)


tree = ast.fix_missing_locations(CountAsserts().visit(ast.parse(open(path).read(), path)))
g = {"__name__": "__main__", "__file__": path, "__parity_check": parity_check, "print": tracking_print}
aborted = None
try:
    exec(compile(tree, path, "exec"), g)
except SystemExit:
    pass
except Exception:
    aborted = traceback.format_exc()[-1500:]
    c = case(current[0])
    c["fail"] += 1
    c["first_failure"] = c["first_failure"] or aborted
real_print("PARITY-RESULT " + json.dumps({"cases": [dict(name=n, **cases[n]) for n in order], "aborted": aborted}))
