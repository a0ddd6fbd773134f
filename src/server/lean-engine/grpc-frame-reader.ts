import { Code, ConnectError } from "@connectrpc/connect";

/** One length-prefixed message of the gRPC wire format. */
export interface GrpcFrame {
  /** The compressed flag: the payload is encoded with the call's `grpc-encoding`. */
  readonly compressed: boolean;
  readonly data: Uint8Array;
}

/** Splits a request body into gRPC frames as chunks arrive; never copies a frame that fits one chunk. */
export interface GrpcFrameReader {
  /** The frames completed by `chunk`; throws a ConnectError for a malformed or oversized frame. */
  push(chunk: Buffer): GrpcFrame[];
  /** The body ended: throws a ConnectError if a frame was left incomplete. */
  end(): void;
}

const headerBytes = 5;

/**
 * Hand-written: the gRPC framing (1 flag byte, 4-byte big-endian length, payload) is simple, and
 * connect's own reader is an async-iterable pipeline — the cost this engine exists to avoid. A
 * frame whose declared length exceeds `maxMessageBytes` is refused as soon as its header
 * arrives, before its payload is buffered.
 */
export function createGrpcFrameReader(maxMessageBytes: number): GrpcFrameReader {
  let chunks: Buffer[] = [];
  let buffered = 0;
  // Size of the frame being read (header included), or -1 before its header arrived.
  let frameBytes = -1;
  let compressed = false;

  const flatten = (): Buffer => {
    const only = chunks[0];
    if (chunks.length === 1 && only) return only;
    const joined = Buffer.concat(chunks, buffered);
    chunks = [joined];
    return joined;
  };

  return {
    push(chunk) {
      chunks.push(chunk);
      buffered += chunk.length;
      const frames: GrpcFrame[] = [];
      for (;;) {
        if (frameBytes < 0) {
          if (buffered < headerBytes) break;
          const first = chunks[0];
          const head = first && first.length >= headerBytes ? first : flatten();
          const flags = head[0] ?? 0;
          if (flags > 1) {
            throw new ConnectError(`protocol error: invalid frame flags ${flags}`, Code.Internal);
          }
          const length = head.readUInt32BE(1);
          if (length > maxMessageBytes) {
            throw new ConnectError(
              `message of ${length} bytes exceeds the limit of ${maxMessageBytes}`,
              Code.ResourceExhausted,
            );
          }
          compressed = flags === 1;
          frameBytes = headerBytes + length;
        }
        if (buffered < frameBytes) break;
        const all = flatten();
        frames.push({ compressed, data: all.subarray(headerBytes, frameBytes) });
        const rest = all.subarray(frameBytes);
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
        frameBytes = -1;
      }
      return frames;
    },
    end() {
      if (buffered > 0) {
        throw new ConnectError(
          `protocol error: request body ended inside a message (${buffered} bytes left over)`,
          Code.Internal,
        );
      }
    },
  };
}
