export type { AbortTarget } from "./abort-watch.js";
export { neverAborted, onAbort, unwatchAbort, watchAbort } from "./abort-watch.js";
export type { CallContext } from "./call-context.js";
export {
  currentCallContext,
  effectiveDeadline,
  runWithCallContext,
  setPrincipal,
  setTrace,
} from "./call-context.js";
export type { DeadlineEntry } from "./deadline-queue.js";
export { cancelDeadline, queuedDeadlines, scheduleDeadline } from "./deadline-queue.js";
export type { Principal } from "./principal.js";
