import type { HttpRoute } from "../contract/http-rule/index.js";

/** Placeholder replaced below. */
export function buildOpenApi(routes: readonly HttpRoute[]): unknown {
  return {
    openapi: "3.1.0",
    paths: Object.fromEntries(routes.map((r) => [r.template.source, {}])),
  };
}
