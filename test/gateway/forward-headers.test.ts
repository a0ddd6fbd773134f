import { expect, it } from "vitest";
import { forwardedHeaderNames, forwardFromNode } from "../../src/gateway/forward-headers.js";

it("configured headers join the defaults, but hop-by-hop and x-protomesh-* never do", () => {
  const names = forwardedHeaderNames([
    "X-Tenant",
    "Connection",
    "TE",
    "x-protomesh-attempts",
    "host",
  ]);
  expect([...names].sort()).toEqual(
    ["authorization", "traceparent", "tracestate", "x-request-id", "x-tenant"].sort(),
  );
  const out = forwardFromNode(
    {
      "x-tenant": "a",
      connection: "keep-alive",
      "transfer-encoding": "chunked",
      "x-protomesh-attempts": "3",
      cookie: "c=1",
    },
    names,
    "rid",
  );
  expect(out).toEqual({ "x-tenant": "a", "x-request-id": "rid" });
});
