import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OrderService } from "../../gen/acme/order/v1/order_service_pb.js";
import { LazyUnaryResponse, setResponseTrailer } from "../../src/transport/lazy-headers.js";

type Raw = Record<string, string>;
let fills = 0;
const fill = (source: Raw, into: Headers) => {
  fills++;
  for (const key in source) into.append(key, source[key] as string);
};
const method = OrderService.method.getOrder;
const response = (header: Raw | undefined, trailer: Raw | undefined) =>
  new LazyUnaryResponse(OrderService, method as never, {} as never, header, trailer, fill);

describe("lazy unary response", () => {
  it("makes header and trailer only when read, once each, from what was received", () => {
    fills = 0;
    const r = response({ "x-h": "1" }, { "grpc-status": `${Code.Unknown}`, "x-t": "2" });
    expect(fills).toBe(0);
    expect(r.header.get("x-h")).toBe("1");
    expect(r.header).toBe(r.header);
    expect(r.trailer.get("x-t")).toBe("2");
    expect(fills).toBe(2);
    expect(r.stream).toBe(false);
    expect(r.method).toBe(method);
  });

  it("defers a trailer set until the trailer is read, over the received value", () => {
    fills = 0;
    const r = response(undefined, { "x-protomesh-attempts": "9", "x-t": "2" });
    setResponseTrailer(r as never, "x-protomesh-attempts", "1");
    expect(fills).toBe(0);
    expect(Object.fromEntries(r.trailer.entries())).toEqual({
      "x-protomesh-attempts": "1",
      "x-t": "2",
    });
    setResponseTrailer(r as never, "x-protomesh-attempts", "3");
    expect(r.trailer.get("x-protomesh-attempts")).toBe("3");
    expect([...r.header]).toEqual([]);
  });

  it("sets a trailer on a response without any received, and on plain responses", () => {
    const r = response(undefined, undefined);
    setResponseTrailer(r as never, "x-a", "1");
    expect(r.trailer.get("x-a")).toBe("1");
    const plain = { trailer: new Headers() };
    setResponseTrailer(plain as never, "x-a", "2");
    expect(plain.trailer.get("x-a")).toBe("2");
  });
});
