// The auth wrapper's header handling: the token replaces any authorization the caller set,
// other headers pass through, and the caller's own header object is never changed.
import type { Transport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { createAuthTransport } from "../../src/client/auth-transport.js";

type HeaderInit = Parameters<Transport["unary"]>[3];

function capture() {
  const seen: Headers[] = [];
  const inner = {
    unary: (_m: unknown, _s: unknown, _t: unknown, header: HeaderInit) => {
      seen.push(new Headers(header));
      return Promise.resolve({ message: {} });
    },
    stream: (_m: unknown, _s: unknown, _t: unknown, header: HeaderInit) => {
      seen.push(new Headers(header));
      return Promise.resolve({ message: {} });
    },
  } as unknown as Transport;
  return { seen, inner };
}

const method = OrderService.method.getOrder;
const send = (t: Transport, header: HeaderInit) =>
  t.unary(method, undefined, undefined, header, {}, undefined);

describe("client auth transport headers", () => {
  it("puts the token over the caller's authorization, whatever shape the headers have", async () => {
    const { seen, inner } = capture();
    const t = createAuthTransport(inner, { token: () => ({ accessToken: "tok" }) });
    const record = { Authorization: "Bearer old", "x-tag": "a" };
    const headers = new Headers({ authorization: "Bearer old", "x-tag": "b" });
    await send(t, undefined);
    await send(t, record);
    await send(t, headers);
    await send(t, [["x-tag", "c"]]);
    expect(seen.map((h) => [h.get("authorization"), h.get("x-tag")])).toEqual([
      ["Bearer tok", null],
      ["Bearer tok", "a"],
      ["Bearer tok", "b"],
      ["Bearer tok", "c"],
    ]);
    expect(record.Authorization).toBe("Bearer old");
    expect(headers.get("authorization")).toBe("Bearer old");
  });

  it("sends the caller's headers untouched when there is no token", async () => {
    const { seen, inner } = capture();
    const t = createAuthTransport(inner, {});
    const record = { authorization: "Bearer mine" };
    await send(t, record);
    await t.stream(
      OrderService.method.watchOrder as never,
      undefined,
      undefined,
      record,
      [] as never,
      undefined,
    );
    expect(seen.map((h) => h.get("authorization"))).toEqual(["Bearer mine", "Bearer mine"]);
  });
});
