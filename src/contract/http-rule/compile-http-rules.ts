import {
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  getOption,
  hasOption,
} from "@bufbuild/protobuf";
import { http } from "../../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../../gen/google/api/http_pb.js";
import { type PathTemplate, PathTemplateError, parsePathTemplate } from "./parse-path-template.js";
import { resolveFieldPath } from "./resolve-field-path.js";

/** One REST route: an HTTP verb and path template bound to a method, compiled once. */
export interface HttpRoute {
  readonly method: DescMethod;
  /** Upper case: GET, PUT, POST, DELETE, PATCH, or a `custom` kind as written, upper-cased. */
  readonly httpMethod: string;
  readonly template: PathTemplate;
  /** Each path variable with the request fields along its path (the last is a scalar). */
  readonly pathBindings: readonly PathBinding[];
  /** `none`: no body; `all`: `body: "*"`; `field`: `body: "<field>"`. */
  readonly body:
    | { readonly kind: "none" }
    | { readonly kind: "all" }
    | { readonly kind: "field"; readonly field: DescField };
  /** The response field sent as the body (`response_body`); undefined for the whole message. */
  readonly responseBody: DescField | undefined;
  /** Normalised verb + path shape, e.g. `GET /v1/*:cancel`: two routes with one key conflict. */
  readonly key: string;
  /** 0 for the method's `google.api.http` rule, n for its `additional_bindings[n - 1]`. */
  readonly binding: number;
}

export interface PathBinding {
  readonly variable: PathTemplate["variables"][number];
  readonly fields: readonly DescField[];
}

/**
 * A rule that cannot be served: an unparsable template, a variable naming a missing, repeated
 * or non-scalar field, a missing body or response_body field, or two rules on one verb and
 * path. The message names the method(s).
 */
export class HttpRuleError extends Error {
  override readonly name = "HttpRuleError";

  /**
   * Where in the contract the fault is written, for a generator that reports
   * `file.proto:line:col` (the gateway only shows the message). Undefined when not known.
   */
  readonly site: HttpRuleSite | undefined;

  constructor(message: string, site?: HttpRuleSite) {
    super(message);
    this.site = site;
  }
}

/** Which part of which rule an `HttpRuleError` is about. */
export interface HttpRuleSite {
  readonly method: DescMethod;
  /** 0 for the `google.api.http` rule itself, n for its `additional_bindings[n - 1]`. */
  readonly binding: number;
  /**
   * `pattern`: the verb and path template (`get`, `post`, …, `custom`); `body`;
   * `response_body`; `additional_bindings`: a binding that nests bindings of its own.
   */
  readonly part: "pattern" | "body" | "response_body" | "additional_bindings";
  /** For two rules on one verb and path: the route bound first. */
  readonly clashesWith?: HttpRoute | undefined;
}

/** Every route that compiles, and every rule that does not (in declaration order). */
export interface CompiledHttpRules {
  readonly routes: HttpRoute[];
  readonly errors: HttpRuleError[];
}

export interface CompileHttpRulesOptions {
  /** Which methods to compile; default every method with a `google.api.http` option. */
  readonly include?: ((method: DescMethod) => boolean) | undefined;
}

/**
 * Compiles every `google.api.http` rule (and its `additional_bindings`) of the services into
 * routes, checking each against the descriptors. Pure: the gateway serves these routes, the
 * code generator builds OpenAPI from them, and both fail the same way on a bad rule.
 */
export function compileHttpRules(
  services: readonly DescService[],
  options: CompileHttpRulesOptions = {},
): HttpRoute[] {
  const { routes, errors } = compileHttpRulesReporting(services, options);
  if (errors[0]) throw errors[0];
  return routes;
}

/**
 * `compileHttpRules` that goes on past a bad rule: the routes that compile and an error for
 * each rule that does not, so a code generator reports them all at once. A route that clashes
 * with an earlier one is an error and not among the routes.
 */
export function compileHttpRulesReporting(
  services: readonly DescService[],
  options: CompileHttpRulesOptions = {},
): CompiledHttpRules {
  const routes: HttpRoute[] = [];
  const errors: HttpRuleError[] = [];
  const byKey = new Map<string, HttpRoute>();
  for (const service of services) {
    for (const method of service.methods) {
      if (!hasOption(method, http)) continue;
      if (options.include && !options.include(method)) continue;
      const rule = getOption(method, http);
      const rules = [rule, ...rule.additionalBindings];
      for (const [i, r] of rules.entries()) {
        if (i > 0 && r.additionalBindings.length > 0) {
          errors.push(
            new HttpRuleError(`${name(method)}: additional_bindings must not nest`, {
              method,
              binding: i,
              part: "additional_bindings",
            }),
          );
          continue;
        }
        let route: HttpRoute;
        try {
          route = compileRule(method, r, i);
        } catch (e) {
          if (e instanceof HttpRuleError) {
            errors.push(e);
            continue;
          }
          throw e;
        }
        const clash = byKey.get(route.key);
        if (clash) {
          errors.push(
            new HttpRuleError(
              `${name(clash.method)} and ${name(method)} both bind ${route.httpMethod} ` +
                `${route.template.source === clash.template.source ? route.template.source : `${clash.template.source} and ${route.template.source}`}`,
              { method, binding: i, part: "pattern", clashesWith: clash },
            ),
          );
          continue;
        }
        byKey.set(route.key, route);
        routes.push(route);
      }
    }
  }
  return { routes, errors };
}

function compileRule(method: DescMethod, rule: HttpRule, binding: number): HttpRoute {
  let part: HttpRuleSite["part"] = "pattern";
  const fail = (why: string): never => {
    throw new HttpRuleError(`${name(method)}: ${why}`, { method, binding, part });
  };
  if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
    fail("google.api.http supports unary and server-streaming methods only");
  }
  const { httpMethod, path } = verbOf(rule, fail);
  let template: PathTemplate;
  try {
    template = parsePathTemplate(path);
  } catch (e) {
    if (e instanceof PathTemplateError) return fail(e.message);
    throw e;
  }
  const pathBindings = template.variables.map((variable): PathBinding => {
    const fields = resolveFieldPath(method.input, variable.fieldPath, false);
    const shown = variable.fieldPath.join(".");
    if (typeof fields === "string") return fail(`path variable {${shown}}: ${fields}`);
    const last = fields[fields.length - 1];
    if (last === undefined || (last.fieldKind !== "scalar" && last.fieldKind !== "enum")) {
      return fail(`path variable {${shown}} must name a singular scalar or enum field`);
    }
    if (fields.some((f) => f.fieldKind === "list" || f.fieldKind === "map")) {
      fail(`path variable {${shown}} must not cross a repeated field`);
    }
    return { variable, fields };
  });
  part = "body";
  const body = bodyOf(method.input, rule.body, pathBindings, fail);
  let responseBody: DescField | undefined;
  if (rule.responseBody !== "") {
    part = "response_body";
    responseBody = method.output.fields.find((f) => f.name === rule.responseBody);
    if (!responseBody) {
      fail(`response_body "${rule.responseBody}" is not a field of ${method.output.typeName}`);
    }
  }
  const shape = template.segments
    .map((s) => (s.kind === "literal" ? s.value : s.kind === "wildcard" ? "*" : "**"))
    .join("/");
  const key = `${httpMethod} /${shape}${template.verb === undefined ? "" : `:${template.verb}`}`;
  return { method, httpMethod, template, pathBindings, body, responseBody, key, binding };
}

function verbOf(
  rule: HttpRule,
  fail: (why: string) => never,
): { httpMethod: string; path: string } {
  const p = rule.pattern;
  switch (p.case) {
    case "get":
      return { httpMethod: "GET", path: p.value };
    case "put":
      return { httpMethod: "PUT", path: p.value };
    case "post":
      return { httpMethod: "POST", path: p.value };
    case "delete":
      return { httpMethod: "DELETE", path: p.value };
    case "patch":
      return { httpMethod: "PATCH", path: p.value };
    case "custom":
      if (!/^[A-Za-z]+$/.test(p.value.kind)) fail(`custom kind "${p.value.kind}" is not a verb`);
      return { httpMethod: p.value.kind.toUpperCase(), path: p.value.path };
    default:
      return fail("the rule has no pattern (get, put, post, delete, patch or custom)");
  }
}

function bodyOf(
  input: DescMessage,
  body: string,
  pathBindings: readonly PathBinding[],
  fail: (why: string) => never,
): HttpRoute["body"] {
  if (body === "") return { kind: "none" };
  if (body === "*") return { kind: "all" };
  const field = input.fields.find((f) => f.name === body);
  if (!field) return fail(`body "${body}" is not a field of ${input.typeName}`);
  if (pathBindings.some((b) => b.fields[0] === field)) {
    fail(`body "${body}" is also bound by the path`);
  }
  return { kind: "field", field };
}

function name(method: DescMethod): string {
  return `${method.parent.typeName}.${method.name}`;
}
