import type { DescService } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import {
  compileHttpRules,
  compileHttpRulesReporting,
  HttpRuleError,
  PathTemplateError,
  parsePathTemplate,
} from "../../src/contract/http-rule/index.js";
import { loadTestRegistry } from "../gateway/support/load-test-registry.js";

function service(name: string): DescService {
  const s = loadTestRegistry().getService(`protomesh.resttest.v1.${name}`);
  if (!s) throw new Error(`no service ${name}`);
  return s;
}

describe("parsePathTemplate", () => {
  it("parses literals, variables, nested fields, wildcards and a verb", () => {
    const t = parsePathTemplate("/v1/{name=shelves/*/books/*}/{a.b}/**:cancel");
    expect(t.verb).toBe("cancel");
    expect(t.segments.map((s) => (s.kind === "literal" ? s.value : s.kind))).toEqual([
      "v1",
      "shelves",
      "wildcard",
      "books",
      "wildcard",
      "wildcard",
      "deep",
    ]);
    expect(t.variables).toEqual([
      { fieldPath: ["name"], start: 1, end: 5, multiSegment: true },
      { fieldPath: ["a", "b"], start: 5, end: 6, multiSegment: false },
    ]);
  });

  it("treats {x=**} as multi-segment", () => {
    expect(parsePathTemplate("/v1/{path=**}").variables[0]?.multiSegment).toBe(true);
  });

  it.each([
    ["v1/x", "must start with /"],
    ["/v1/{name", 'expected "}"'],
    ["/v1/{}", "expected a field name"],
    ["/v1/**/x", "** must be the last segment"],
    ["/v1/{a={b}}", "variables cannot nest"],
    ["/v1/{a}/{a}", "appears twice"],
    ["/v1/x:", "unexpected end"],
    ["/v1//x", 'unexpected "/"'],
  ])("refuses %s (%s)", (source, why) => {
    expect(() => parsePathTemplate(source)).toThrow(PathTemplateError);
    expect(() => parsePathTemplate(source)).toThrow(why);
  });
});

describe("compileHttpRules", () => {
  it("compiles every rule and additional binding of the test service", () => {
    const routes = compileHttpRules([service("LibraryService")]);
    expect(routes.map((r) => r.key)).toEqual([
      "GET /v1/shelves/*/books/*",
      "GET /v1/books/*",
      "POST /v1/shelves/*/books",
      "PUT /v1/books/*",
      "PATCH /v1/books/*",
      "DELETE /v1/books/*",
      "GET /v1/search",
      "POST /v1/operations/*:cancel",
      "GET /v1/files/**",
      "SEARCH /v1/describe/*",
      "GET /v1/shelves/*/books:stream",
      "GET /v1/secret/*",
      "GET /v1/fail/*",
    ]);
    const create = routes[2];
    expect(create?.body.kind === "field" && create.body.field.name).toBe("book");
    expect(create?.pathBindings[0]?.fields.map((f) => f.name)).toEqual(["shelf", "id"]);
    expect(routes[8]?.responseBody?.name).toBe("content");
  });

  it("compiles the order service's rules", () => {
    expect(compileHttpRules([OrderService]).map((r) => r.key)).toContain(
      "POST /v1/orders/*:cancel",
    );
  });

  it.each([
    ["BadTemplateService", /BadTemplateService\.Get: path template "\/v1\/\{name"/],
    ["MissingFieldService", /MissingFieldService\.Get: path variable \{nope\}.*no field "nope"/],
    ["RepeatedVariableService", /RepeatedVariableService\.Get: .*\{name\} appears twice/],
    [
      "RepeatedFieldService",
      /RepeatedFieldService\.Get: path variable \{tags\} must name a singular/,
    ],
    ["MissingBodyService", /MissingBodyService\.Create: body "nope" is not a field/],
    [
      "ClashService",
      /ClashService\.First and protomesh\.resttest\.v1\.ClashService\.Second both bind GET/,
    ],
  ])("fails at start-up for %s, naming the method(s)", (name, message) => {
    expect(() => compileHttpRules([service(name)])).toThrow(HttpRuleError);
    expect(() => compileHttpRules([service(name)])).toThrow(message);
  });

  it("compiles only the methods include keeps", () => {
    const routes = compileHttpRules([service("ClashService")], {
      include: (m) => m.name === "First",
    });
    expect(routes).toHaveLength(1);
  });
});

describe("compileHttpRulesReporting", () => {
  const bad = [
    "BadTemplateService",
    "MissingFieldService",
    "MissingBodyService",
    "ClashService",
    "LibraryService",
  ].map(service);

  it("goes on past a bad rule: every error with its site, and the routes that compile", () => {
    const { routes, errors } = compileHttpRulesReporting(bad);
    expect(errors.map((e) => [e.site?.method.name, e.site?.binding, e.site?.part])).toEqual([
      ["Get", 0, "pattern"],
      ["Get", 0, "pattern"],
      ["Create", 0, "body"],
      ["Second", 0, "pattern"],
    ]);
    const clash = errors[3]?.site?.clashesWith;
    expect([clash?.method.name, clash?.binding]).toEqual(["First", 0]);
    // ClashService.First and every LibraryService route still compile.
    expect(routes).toHaveLength(compileHttpRules([service("LibraryService")]).length + 1);
    expect(routes.some((r) => r.binding > 0)).toBe(true);
  });

  it("is what compileHttpRules throws the first of", () => {
    const { errors } = compileHttpRulesReporting(bad);
    expect(() => compileHttpRules(bad)).toThrow(errors[0]?.message ?? "?");
  });
});
