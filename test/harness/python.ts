// The Python interpreter the tests run: resolved once (pyenv's `python3` is a shell shim costing ~0.7 s a start).
export const python: string = (() => {
  const r = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"], { stdout: "pipe", stderr: "ignore", timeout: 30_000 });
  const exe = r.stdout.toString().trim();
  return r.exitCode === 0 && exe.startsWith("/") ? exe : "python3";
})();
