import assert from "node:assert/strict";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { StreamingOutputCallRequestSchema } from "../../gen/grpc/testing/messages_pb.js";
import type { TestService, UnimplementedService } from "../../gen/grpc/testing/test_pb.js";
import { echoInitialHeader, echoTrailingHeader } from "./test-service.js";

/** The clients an interop case talks through (any Connect transport). */
export interface InteropClients {
  readonly test: Client<typeof TestService>;
  readonly unimplemented: Client<typeof UnimplementedService>;
}

/** One interop case: resolves when the server behaved as described, throws otherwise. */
export type InteropCase = (clients: InteropClients) => Promise<void>;

type OutputRequest = MessageInitShape<typeof StreamingOutputCallRequestSchema>;

/** The status message special_status_message sends: whitespace, BMP and non-BMP characters. */
export const specialStatusMessage =
  "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

/**
 * Fourteen of gRPC's interop-test cases, as its public description defines them (sizes, metadata
 * values and expected codes), written against Connect clients so every Connect transport can
 * run them. Not implemented: cacheable_unary, the compression cases, the auth cases, and the
 * soak and ORCA cases (test/interop/interop-client.test.ts says why).
 */
export const interopCases: Readonly<Record<string, InteropCase>> = {
  async empty_unary({ test }) {
    const response = await test.emptyCall({});
    assert.equal(response.$typeName, "grpc.testing.Empty");
  },

  async large_unary({ test }) {
    const response = await test.unaryCall({
      responseSize: 314_159,
      payload: { body: new Uint8Array(271_828) },
    });
    assertZeros(response.payload?.body, 314_159);
  },

  async client_streaming({ test }) {
    async function* requests() {
      for (const size of [27_182, 8, 1_828, 45_904]) {
        yield { payload: { body: new Uint8Array(size) } };
      }
    }
    const response = await test.streamingInputCall(requests());
    assert.equal(response.aggregatedPayloadSize, 74_922);
  },

  async server_streaming({ test }) {
    const sizes = [31_415, 9, 2_653, 58_979];
    const seen: number[] = [];
    for await (const response of test.streamingOutputCall({
      responseParameters: sizes.map((size) => ({ size })),
    })) {
      assertZeros(response.payload?.body, sizes[seen.length] ?? -1);
      seen.push(response.payload?.body.length ?? -1);
    }
    assert.deepEqual(seen, sizes);
  },

  async ping_pong({ test }) {
    const sizes = [31_415, 9, 2_653, 58_979];
    const payloads = [27_182, 8, 1_828, 45_904];
    const pings = createQueue<OutputRequest>();
    const pongs = test.fullDuplexCall(pings)[Symbol.asyncIterator]();
    for (const [i, size] of sizes.entries()) {
      pings.push({
        responseParameters: [{ size }],
        payload: { body: new Uint8Array(payloads[i] ?? 0) },
      });
      // Each ping waits for its pong before the next is sent.
      const pong = await pongs.next();
      assert.equal(pong.done, false);
      assertZeros(pong.value?.payload?.body, size);
    }
    pings.end();
    assert.equal((await pongs.next()).done, true);
  },

  async empty_stream({ test }) {
    let count = 0;
    for await (const _ of test.fullDuplexCall(createQueue<OutputRequest>().end())) count += 1;
    assert.equal(count, 0);
  },

  async custom_metadata({ test }) {
    const initial = "test_initial_metadata_value";
    const trailing = Buffer.from([0xab, 0xab, 0xab]).toString("base64");
    const headers = { [echoInitialHeader]: initial, [echoTrailingHeader]: trailing };
    const check = (header: Headers | undefined, trailer: Headers | undefined) => {
      assert.equal(header?.get(echoInitialHeader), initial);
      assert.deepEqual(
        [...Buffer.from(trailer?.get(echoTrailingHeader) ?? "", "base64")],
        [0xab, 0xab, 0xab],
      );
    };
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const onHeader = (h: Headers) => {
      header = h;
    };
    const onTrailer = (t: Headers) => {
      trailer = t;
    };
    const unary = await test.unaryCall(
      { responseSize: 314_159, payload: { body: new Uint8Array(271_828) } },
      { headers, onHeader, onTrailer },
    );
    assertZeros(unary.payload?.body, 314_159);
    check(header, trailer);

    header = undefined;
    trailer = undefined;
    const request: OutputRequest = {
      responseParameters: [{ size: 314_159 }],
      payload: { body: new Uint8Array(271_828) },
    };
    for await (const response of test.fullDuplexCall(createQueue([request]).end(), {
      headers,
      onHeader,
      onTrailer,
    })) {
      assertZeros(response.payload?.body, 314_159);
    }
    check(header, trailer);
  },

  async status_code_and_message({ test }) {
    const responseStatus = { code: 2, message: "test status message" };
    await assertFails(test.unaryCall({ responseStatus }), Code.Unknown, responseStatus.message);
    await assertFails(
      drain(test.fullDuplexCall(createQueue<OutputRequest>([{ responseStatus }]).end())),
      Code.Unknown,
      responseStatus.message,
    );
  },

  async special_status_message({ test }) {
    const responseStatus = { code: 2, message: specialStatusMessage };
    await assertFails(test.unaryCall({ responseStatus }), Code.Unknown, specialStatusMessage);
  },

  async unimplemented_method({ test }) {
    await assertFails(test.unimplementedCall({}), Code.Unimplemented);
  },

  async unimplemented_service({ unimplemented }) {
    await assertFails(unimplemented.unimplementedCall({}), Code.Unimplemented);
  },

  async cancel_after_begin({ test }) {
    const controller = new AbortController();
    const requests = createQueue<{ payload: { body: Uint8Array } }>();
    const call = test.streamingInputCall(requests, { signal: controller.signal });
    controller.abort();
    await assertFails(call, Code.Canceled);
  },

  async cancel_after_first_response({ test }) {
    const controller = new AbortController();
    const pings = createQueue<OutputRequest>([
      { responseParameters: [{ size: 31_415 }], payload: { body: new Uint8Array(27_182) } },
    ]);
    const pongs = test.fullDuplexCall(pings, { signal: controller.signal })[Symbol.asyncIterator]();
    const first = await pongs.next();
    assertZeros(first.value?.payload?.body, 31_415);
    controller.abort();
    await assertFails(pongs.next(), Code.Canceled);
  },

  async timeout_on_sleeping_server({ test }) {
    const pings = createQueue<OutputRequest>([{ payload: { body: new Uint8Array(27_182) } }]);
    await assertFails(drain(test.fullDuplexCall(pings, { timeoutMs: 1 })), Code.DeadlineExceeded);
  },
};

function assertZeros(body: Uint8Array | undefined, size: number): void {
  assert.ok(body, "response carries a payload");
  assert.equal(body.length, size);
  assert.ok(
    body.every((b) => b === 0),
    "payload is all zeros",
  );
}

async function assertFails(call: Promise<unknown>, code: Code, message?: string): Promise<void> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    assert.equal(Code[connectError.code], Code[code], connectError.message);
    if (message !== undefined) assert.equal(connectError.rawMessage, message);
    return;
  }
  assert.fail(`expected ${Code[code]}, the call succeeded`);
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // read to the end, or to the error
  }
}

/** An async iterable the caller pushes into: request streams sent one message at a time. */
interface Queue<T> extends AsyncIterable<T> {
  push(value: T): void;
  end(): Queue<T>;
}

function createQueue<T>(initial: readonly T[] = []): Queue<T> {
  const values = [...initial];
  let ended = false;
  let wake: (() => void) | undefined;
  const queue: Queue<T> = {
    push(value) {
      values.push(value);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
      return queue;
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const value = values.shift();
        if (value !== undefined) {
          yield value;
        } else if (ended) {
          return;
        } else {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      }
    },
  };
  return queue;
}
