import { readFileSync } from "node:fs";
import { connect } from "node:http2";
import { request } from "node:https";
import { expect, it } from "vitest";
import { createGateway } from "../../src/gateway/index.js";
import { startLibraryUpstream } from "./support/library-upstream.js";

const tls = {
  cert: readFileSync("test/fixtures/tls/server.pem"),
  key: readFileSync("test/fixtures/tls/server.key"),
};
const ca = readFileSync("test/fixtures/tls/ca.pem");

it("serves REST over TLS on HTTP/1.1 and HTTP/2 (ALPN)", async () => {
  const upstream = await startLibraryUpstream();
  const gateway = createGateway({
    upstreams: [{ services: [upstream.service], baseUrl: upstream.address.url }],
    tls,
    logger: false,
  });
  const { port, url } = await gateway.listen();
  expect(url).toBe(`https://127.0.0.1:${port}`);
  try {
    const h1 = await new Promise<string>((resolve, reject) => {
      request(`${url}/v1/books/t1`, { ca }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (c: string) => (body += c));
        res.on("end", () => resolve(`${res.statusCode} ${body}`));
      })
        .on("error", reject)
        .end();
    });
    expect(h1).toBe('200 {"name":"t1","title":"T","pageCount":"12"}');
    const session = connect(url, { ca });
    const h2 = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ":path": "/v1/books/t2" });
      let body = "";
      let status = 0;
      stream.on("response", (h) => (status = Number(h[":status"])));
      stream.setEncoding("utf8").on("data", (c: string) => (body += c));
      stream.on("end", () => resolve(`${status} ${body}`));
      stream.on("error", reject);
    });
    session.close();
    expect(h2).toBe('200 {"name":"t2","title":"T","pageCount":"12"}');
  } finally {
    await gateway.close();
    await upstream.server.close();
  }
});

it("serves HTTP/2 with prior knowledge on a cleartext port", async () => {
  const upstream = await startLibraryUpstream();
  const gateway = createGateway({
    upstreams: [{ services: [upstream.service], baseUrl: upstream.address.url }],
    logger: false,
  });
  const { url } = await gateway.listen();
  try {
    const session = connect(url);
    const res = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ":path": "/v1/books/c1" });
      let body = "";
      stream.setEncoding("utf8").on("data", (c: string) => (body += c));
      stream.on("end", () => resolve(body));
      stream.on("error", reject);
    });
    session.close();
    expect(JSON.parse(res).name).toBe("c1");
  } finally {
    await gateway.close();
    await upstream.server.close();
  }
});
