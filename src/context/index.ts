export type { CallContext } from "./call-context.js";
export { currentCallContext, effectiveDeadline, runWithCallContext } from "./call-context.js";
