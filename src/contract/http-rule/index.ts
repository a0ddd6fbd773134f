export type {
  CompiledHttpRules,
  CompileHttpRulesOptions,
  HttpRoute,
  HttpRuleSite,
  PathBinding,
} from "./compile-http-rules.js";
export {
  compileHttpRules,
  compileHttpRulesReporting,
  HttpRuleError,
} from "./compile-http-rules.js";
export type { PathSegment, PathTemplate, PathVariable } from "./parse-path-template.js";
export { PathTemplateError, parsePathTemplate } from "./parse-path-template.js";
export { resolveFieldPath } from "./resolve-field-path.js";
