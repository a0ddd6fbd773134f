import {
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
  type ServerStreamResponseOptions,
  sensitiveHeaders,
} from "node:http2";

/**
 * Whether this Node's `respond()` takes raw name/value arrays, which spare node:http2 a header
 * object per response (Node 24, and Node 22 from about 22.17). Node 22.12 rejects an array with
 * ERR_INVALID_ARG_TYPE, synchronously and before anything is sent, so the first response of the
 * process finds out by trying, and every later one takes the path that works. Default: true.
 */
let rawHeadersAccepted = true;

/**
 * Sends response headers given as raw pairs: the array as is where Node accepts one, else the
 * same pairs as a header object (never-indexed names included). Never lets an older Node's
 * refusal of arrays escape.
 */
export function respondRaw(
  stream: ServerHttp2Stream,
  headers: string[],
  options?: ServerStreamResponseOptions,
): void {
  if (rawHeadersAccepted) {
    try {
      stream.respond(headers, options);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ERR_INVALID_ARG_TYPE") throw error;
      rawHeadersAccepted = false;
    }
  }
  stream.respond(headerObject(headers), options);
}

/** The pairs as an object: repeated names become arrays, `:status` a number. */
export function headerObject(headers: readonly string[]): OutgoingHttpHeaders {
  const object: OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    const previous = object[name];
    if (name === ":status") object[name] = Number(value);
    else if (previous === undefined) object[name] = value;
    else object[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
  }
  const neverIndexed = (headers as readonly string[] & Record<symbol, unknown>)[sensitiveHeaders];
  if (neverIndexed !== undefined) {
    (object as Record<symbol, unknown>)[sensitiveHeaders] = neverIndexed;
  }
  return object;
}
