import { type DescFile, type DescMethod, getOption } from "@bufbuild/protobuf";
import { http } from "../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../gen/google/api/http_pb.js";
import type { HttpRoute, HttpRuleSite } from "../contract/http-rule/index.js";
import {
  formatLocation,
  methodOptionPath,
  type SourceLocation,
  sourceLocation,
} from "../contract/source-location.js";
import type { ContractFinding } from "./check-contracts.js";
import { compilePackageRoutes, type PackageRoutes } from "./package-routes.js";

// Field numbers in google/api/http.proto's HttpRule, for source-info paths.
const R = {
  get: 2,
  put: 3,
  post: 4,
  delete: 5,
  patch: 6,
  body: 7,
  custom: 8,
  additionalBindings: 11,
  responseBody: 12,
} as const;
// CustomPattern.path.
const customPath = 2;

/**
 * The HTTP rule errors of `files`, from the route compiler the gateway serves with, each
 * where it is written: a template that does not parse, a path variable naming a missing,
 * repeated or non-scalar field, a `body` or `response_body` that is not a field, a rule on a
 * client- or bidi-streaming method, nested `additional_bindings`, and two rules on one verb
 * and path within a package (the unit of a contract and of its OpenAPI document; a gateway
 * fronting several packages still refuses a clash among them when it starts). All methods
 * count, internal ones too: a rule a gateway would refuse once the method turns PUBLIC is
 * wrong today. Every one fails generation.
 */
export function checkHttpRules(files: readonly DescFile[]): ContractFinding[] {
  return httpRuleFindings(compilePackageRoutes(files));
}

/** `checkHttpRules` on routes already compiled (the plugin compiles once for OpenAPI too). */
export function httpRuleFindings(packages: readonly PackageRoutes[]): ContractFinding[] {
  return packages
    .flatMap((p) => p.errors)
    .map((error): ContractFinding => {
      const site = error.site;
      if (!site) throw error; // every error of the compiler names its site
      const clash = site.clashesWith;
      return {
        location: locate(site.method, site.binding, site.part),
        severity: "error",
        rule: clash ? "http-rule-conflict" : "http-rule-invalid",
        message: clash
          ? `${error.message} (the first is at ${formatLocation(routeLocation(clash))})`
          : error.message,
      };
    });
}

function routeLocation(route: HttpRoute): SourceLocation {
  return locate(route.method, route.binding, "pattern");
}

/** Where a part of a method's rule (or of one of its additional bindings) is written. */
function locate(method: DescMethod, binding: number, part: HttpRuleSite["part"]): SourceLocation {
  const top = getOption(method, http);
  const rule: HttpRule | undefined = binding === 0 ? top : top.additionalBindings[binding - 1];
  const base = binding === 0 ? [] : [R.additionalBindings, binding - 1];
  const path = [...base];
  switch (part) {
    case "pattern":
      path.push(...patternPath(rule));
      break;
    case "body":
      path.push(R.body);
      break;
    case "response_body":
      path.push(R.responseBody);
      break;
    case "additional_bindings":
      path.push(R.additionalBindings);
      break;
  }
  return sourceLocation(method.parent.file, methodOptionPath(method, http.number, ...path));
}

function patternPath(rule: HttpRule | undefined): number[] {
  switch (rule?.pattern.case) {
    case "get":
      return [R.get];
    case "put":
      return [R.put];
    case "post":
      return [R.post];
    case "delete":
      return [R.delete];
    case "patch":
      return [R.patch];
    case "custom":
      return [R.custom, customPath];
    default:
      return [];
  }
}
