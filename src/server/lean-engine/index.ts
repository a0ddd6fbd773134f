export type { LeanEngine, LeanEngineOptions } from "./create-lean-engine.js";
export { createLeanEngine } from "./create-lean-engine.js";
