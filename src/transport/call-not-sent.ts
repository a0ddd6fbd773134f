/**
 * The `cause` of an `Unavailable` error for a call that provably never reached a server: no
 * connection was ready, the connection failed before the request went out, the server refused
 * the stream (REFUSED_STREAM), or its GOAWAY named a last stream below this call's. The
 * resilience layer may retry such a call whatever its method's idempotency.
 */
export class CallNotSent extends Error {
  override readonly name = "CallNotSent";
}
