import type { IncomingHttpHeaders } from "node:http2";
import { lazyHeaders } from "../lazy-headers.js";

/**
 * Copies node's received headers into web `Headers`, leaving out HTTP/2 pseudo-headers.
 * `-bin` values are base64 on the wire and stay so, as Connect expects them.
 */
export function fillFromIncoming(source: IncomingHttpHeaders, into: Headers): void {
  for (const key in source) {
    if (key.charCodeAt(0) === 0x3a) continue;
    const value = source[key];
    if (value === undefined) continue;
    if (typeof value === "string") into.append(key, value);
    else for (const v of value) into.append(key, v);
  }
}

/** Node's received headers as web `Headers`, converted only if someone reads them. */
export function incomingHeaders(source: IncomingHttpHeaders | undefined): Headers {
  return source === undefined ? new Headers() : lazyHeaders(source, fillFromIncoming);
}
