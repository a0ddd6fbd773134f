import { once } from "node:events";
import { connect, createServer, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { endAfterWrite } from "../../src/server/end-after-write.js";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A node:http2 server on 127.0.0.1 that answers every request with `answer(stream)`. */
async function serve(answer: (stream: ServerHttp2Stream) => void) {
  const finished: boolean[] = [];
  const server = createServer();
  server.on("stream", (stream) => {
    let finish = false;
    stream.on("finish", () => (finish = true));
    stream.on("close", () => finished.push(finish));
    stream.resume();
    stream.on("end", () => {
      stream.respond({ ":status": 200 });
      answer(stream);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  close = async () => {
    session.close();
    await new Promise((resolve) => server.close(resolve));
  };
  const get = async (): Promise<string> => {
    const stream = session.request({ ":method": "POST", ":path": "/" });
    stream.end("ping");
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    await once(stream, "end");
    return Buffer.concat(chunks).toString("utf8");
  };
  return { get, finished };
}

describe("endAfterWrite", () => {
  it("delivers a text body, a byte body and an empty one, each ended", async () => {
    const bodies: (string | Uint8Array)[] = ["héllo", new TextEncoder().encode("bytes"), ""];
    let next = 0;
    const { get } = await serve((stream) => endAfterWrite(stream, bodies[next++] as string));
    expect(await get()).toBe("héllo");
    expect(await get()).toBe("bytes");
    expect(await get()).toBe("");
  });

  it("lets the stream finish its answer before it closes (end(body) has it destroyed first)", async () => {
    const { get, finished } = await serve((stream) => endAfterWrite(stream, "x".repeat(200)));
    for (let i = 0; i < 20; i++) await get();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(finished).toHaveLength(20);
    expect(finished.every(Boolean)).toBe(true);
  });
});
