// Whether a pid names a live process (signal 0): what a killed process left behind is cleared only once its pid is gone.

/** True unless the kernel says no such process (ESRCH); EPERM (someone else's process) is alive. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== "ESRCH";
  }
}
