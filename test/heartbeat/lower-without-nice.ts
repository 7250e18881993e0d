// Test fixture (run as its own process, root): a beat thread that entered its window and then lost CAP_SYS_NICE (as RLIMIT_RTPRIO
// alone would leave it) must still leave the window; prints the thread's state and policy as JSON.
import { BeatPriority } from "../../src/heartbeat/beat-priority.ts";
import { capNames, restrictCapabilities } from "../../src/sys/capabilities.ts";
import { schedPolicySelf } from "../../src/sys/sleeper.ts";

const p = new BeatPriority(1);
const raised = p.raise();
const during = schedPolicySelf();
restrictCapabilities(capNames.filter((c) => c !== "CAP_SYS_NICE"));
p.lower();
const after = schedPolicySelf();
const state = p.state;
// Without CAP_SYS_NICE (and RLIMIT_RTPRIO 0 here) the next window is refused: the thread stays SCHED_OTHER.
console.log(JSON.stringify({ raised, during, after, state, raisedAgain: p.raise(), again: schedPolicySelf() }));
