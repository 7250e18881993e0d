// Runs dumb-init's and tini's own test suites against dist/vector-boot through flag-mapping shims; prints pass/fail counts.
//
// Usage: bun scripts/parity-suites.ts [--dumb-init DIR] [--tini DIR] [-k PYTEST_EXPR]
// DIR: a checkout of github.com/Yelp/dumb-init / github.com/krallin/tini (not in this repository;
// default /var/tmp/parity/dumb-init and /var/tmp/parity/tini). Needs /usr/bin/python3 with pytest and gcc.
// The shims (scripts/parity/*-shim.py) map each tool's options onto `vector-boot [OPTIONS] -- CMD`;
// tini's checks import psutil, bitmap and prctl, stood in for by scripts/parity/compat/ when absent.
// Exit status: 0 when every behaviour case passes (help/usage/log-wording cases are counted apart).
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const here = join(root, "scripts/parity");
const python = "/usr/bin/python3";

function argValue(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]!) : fallback;
}
const dumbInitDir = argValue("--dumb-init", "/var/tmp/parity/dumb-init");
const tiniDir = argValue("--tini", "/var/tmp/parity/tini");
const pytestFilter = process.argv.includes("-k") ? ["-k", process.argv[process.argv.indexOf("-k") + 1]!] : [];

/**
 * Cases that check help, usage or log wording rather than behaviour (dumb-init prints its own
 * texts and exits 1 on usage errors; vector-boot has its own texts and exits 64). Reported apart.
 */
const textCases: Array<[RegExp, string]> = [
  [/cli_test\.py::test_(no_arguments_prints_usage|exits_invalid_with_invalid_args|help_message|version_message|rewrite_errors)/, "dumb-init's usage/help/version text and exit status 1 (vector-boot: its own text, 64)"],
  [/cli_test\.py::test_verbose/, "dumb-init's exact debug lines ([dumb-init] Child spawned with PID ...)"],
  [/tty_test\.py::test_sighup_sigcont_ignored_if_was_session_leader/, "asserts dumb-init's debug lines about its session-leader SIGHUP/SIGCONT quirk"],
  [/child_processes_test\.py::test_fails_nonzero_with_bad_exec/, "asserts dumb-init's message text ([dumb-init] /doesnotexist: No such file or directory)"],
];
const textReason = (name: string) => textCases.find(([re]) => re.test(name))?.[1];

if (!existsSync(join(dumbInitDir, "tests")) || !existsSync(join(tiniDir, "test/run_inner_tests.py"))) {
  console.error(`parity-suites: the suites are not in this repository. Get them, e.g.:
  git clone https://github.com/Yelp/dumb-init ${dumbInitDir}
  git clone https://github.com/krallin/tini ${tiniDir}
(or pass --dumb-init DIR --tini DIR)`);
  process.exit(2);
}
const builtExe = join(root, "dist/vector-boot");
if (!existsSync(builtExe)) {
  console.error("parity-suites: dist/vector-boot missing: run scripts/build.ts");
  process.exit(2);
}

// A private bin dir: the executable's copy, the shims under the tools' names, python = python3.
const work = mkdtempSync("/var/tmp/vb-parity-");
const bin = join(work, "bin");
const build = join(work, "build");
mkdirSync(bin);
mkdirSync(build);
const vb = join(bin, "vector-boot");
copyFileSync(builtExe, vb);
chmodSync(vb, 0o755);
symlinkSync(join(here, "dumb-init-shim.py"), join(bin, "dumb-init"));
symlinkSync(join(here, "tini-shim.py"), join(bin, "tini"));
symlinkSync(python, join(bin, "python"));
symlinkSync(python, join(bin, "python3"));
// JSC_SIGNAL_FOR_GC=40 as the pre-init (and test/pid1/harness.ts) sets it: otherwise JavaScriptCore
// keeps SIGPWR for its collector and the init cannot forward it (dumb-init's suite sends 1-31).
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, PARITY_VECTOR_BOOT: vb, JSC_SIGNAL_FOR_GC: "40" };

interface CaseResult {
  suite: string;
  name: string;
  ok: boolean;
  detail?: string;
}
const results: CaseResult[] = [];

// --- dumb-init: its pytest suite, `dumb-init` on PATH being the shim.
{
  const xml = join(work, "dumb-init.xml");
  const t0 = performance.now();
  const r = Bun.spawnSync([python, "-m", "pytest", "-p", "no:cacheprovider", "-q", `--junitxml=${xml}`, ...pytestFilter, "tests"], {
    cwd: dumbInitDir,
    env,
    stdout: "pipe",
    stderr: "pipe",
    timeout: 900_000,
  });
  console.log(`dumb-init suite: pytest exit ${r.exitCode} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const text = existsSync(xml) ? readFileSync(xml, "utf8") : "";
  if (!text) console.log(r.stdout.toString().slice(-3000), r.stderr.toString().slice(-3000));
  for (const m of text.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[4] ?? "";
    const file = m[1]!.replace(/\./g, "/").replace(/^(.*)\/([^/]+)$/, "$1/$2.py");
    const fail = /<(failure|error)\b[^>]*message="([^"]*)"/.exec(body);
    if (/<skipped\b/.test(body)) continue;
    results.push({ suite: "dumb-init", name: `${file}::${m[2]}`, ok: !fail, detail: fail ? unescapeXml(fail[2]!).slice(0, 300) : undefined });
  }
}

// --- tini: test/run_inner_tests.py (its Docker-based outer runner does not apply), every assert counted.
{
  const cc = Bun.spawnSync(["gcc", "-o", join(build, "sigconf-test"), join(tiniDir, "test/sigconf/sigconf-test.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) console.error(`tini suite: building sigconf-test failed: ${cc.stderr}`);
  symlinkSync(join(here, "tini-shim.py"), join(build, "tini"));
  const hasReal = (mod: string) => Bun.spawnSync([python, "-c", `import ${mod}`]).exitCode === 0;
  const stand = ["psutil", "bitmap", "prctl"].filter((m) => !hasReal(m));
  if (stand.length) console.log(`tini suite: stand-ins from scripts/parity/compat for ${stand.join(", ")}`);
  const compat = join(work, "compat");
  mkdirSync(compat);
  for (const m of stand) copyFileSync(join(here, "compat", `${m}.py`), join(compat, `${m}.py`));
  const t0 = performance.now();
  const r = Bun.spawnSync([python, join(here, "run-tini-checks.py"), join(tiniDir, "test/run_inner_tests.py")], {
    cwd: tiniDir,
    env: { ...env, SOURCE_DIR: tiniDir, BUILD_DIR: build, FORCE_SUBREAPER: "1", PYTHONPATH: [compat, process.env.PYTHONPATH].filter(Boolean).join(":") },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 900_000,
  });
  console.log(`tini suite: exit ${r.exitCode} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const line = r.stdout.toString().split("\n").find((l) => l.startsWith("PARITY-RESULT "));
  if (!line) console.log(r.stdout.toString().slice(-3000), r.stderr.toString().slice(-3000));
  else {
    const res = JSON.parse(line.slice("PARITY-RESULT ".length)) as { cases: Array<{ name: string; pass: number; fail: number; first_failure: string | null }> };
    for (const c of res.cases) {
      if (c.pass + c.fail === 0) continue;
      results.push({ suite: "tini", name: `${c.name} (${c.pass}/${c.pass + c.fail} checks)`, ok: c.fail === 0, detail: c.first_failure ?? undefined });
    }
  }
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#10;/g, " ").replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

// --- report
let behaviourFailed = 0;
for (const suite of ["dumb-init", "tini"]) {
  const mine = results.filter((r) => r.suite === suite);
  const behaviour = mine.filter((r) => !textReason(r.name));
  const text = mine.filter((r) => textReason(r.name));
  const bad = behaviour.filter((r) => !r.ok);
  behaviourFailed += bad.length;
  console.log(`\n${suite}: behaviour cases ${behaviour.length - bad.length} passed, ${bad.length} failed; help/usage/log-text cases ${text.filter((r) => r.ok).length} passed, ${text.filter((r) => !r.ok).length} failed`);
  for (const r of bad) console.log(`  FAIL ${r.name}\n       ${(r.detail ?? "").replace(/\s+/g, " ").slice(0, 300)}`);
  const textFails = new Map<string, number>();
  for (const r of text.filter((x) => !x.ok)) textFails.set(textReason(r.name)!, (textFails.get(textReason(r.name)!) ?? 0) + 1);
  for (const [why, n] of textFails) console.log(`  text (${n}): ${why}`);
}
rmSync(work, { recursive: true, force: true });
process.exit(behaviourFailed === 0 ? 0 : 1);
