export type { CompileHttpRulesOptions, HttpRoute, PathBinding } from "./compile-http-rules.js";
export { compileHttpRules, HttpRuleError } from "./compile-http-rules.js";
export type { PathSegment, PathTemplate, PathVariable } from "./parse-path-template.js";
export { PathTemplateError, parsePathTemplate } from "./parse-path-template.js";
export { resolveFieldPath } from "./resolve-field-path.js";
