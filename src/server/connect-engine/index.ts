export type { ConnectEngine, ConnectEngineOptions } from "./create-connect-engine.js";
export { createConnectEngine } from "./create-connect-engine.js";
