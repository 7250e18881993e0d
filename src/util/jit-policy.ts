// Back to the normal JIT policy once interactive: the executable starts reluctant to JIT its run-once boot code.

/**
 * Back to JavaScriptCore's normal JIT policy for this thread's VM. The executable starts with a
 * tier-up scale of `startupJitPolicy` (scripts/compile-flags.ts) so the boot's run-once code is not
 * compiled; each Worker has its own VM and starts with the same scale. Called once the program is
 * interactive: the boot at its first beat, any other command at once, a worker when it starts.
 * Running from source the policy is already the normal one.
 */
export function jitInteractive(): void {
  Bun.unsafe.setJITPolicy(1);
}
