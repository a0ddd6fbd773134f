export type { ContractCheck, ContractFinding, Severity } from "./check-contracts.js";
export { checkContracts, formatFinding } from "./check-contracts.js";
export { checkHttpRules } from "./check-http-rules.js";
export type { PluginOptions } from "./plugin-options.js";
export type { PluginReporter } from "./protoc-gen-protomesh.js";
export { createProtomeshPlugin, protocGenProtomesh } from "./protoc-gen-protomesh.js";
