import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Node's codes for a TLS handshake the client refused: the server cannot be trusted. */
const tlsErrorCode = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_)/;

/**
 * Makes connect-node report a connection that could not be set up as `Unavailable`, as gRPC
 * (and grpc-js) does, so that every transport gives the resilience layer the same codes:
 * connect-node reports a refused server certificate as `Internal`, and a stream the server
 * reset while the caller was still waiting (a client certificate refused under TLS 1.3) as
 * `Canceled` — though nobody cancelled. Runs innermost, next to the transport.
 */
export const connectionErrorInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (error) {
    const connectError = ConnectError.from(error);
    if (isConnectionFailure(connectError, req.signal)) {
      throw new ConnectError(
        connectError.rawMessage,
        Code.Unavailable,
        connectError.metadata,
        undefined,
        connectError.cause ?? connectError,
      );
    }
    throw error;
  }
};

function isConnectionFailure(error: ConnectError, signal: AbortSignal): boolean {
  if (error.code === Code.Canceled)
    return !signal.aborted && error.metadata.get("grpc-status") === null;
  if (error.code !== Code.Internal) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && tlsErrorCode.test(code);
}
