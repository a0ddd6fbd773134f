/**
 * TLS for either transport. Without it, calls go in cleartext (h2c), which is right only on a
 * trusted network or behind a mesh sidecar that does mTLS for you.
 */
export interface TransportTls {
  /** PEM CA certificates the server's certificate must chain to. Default: Node's root CAs. */
  readonly rootCerts?: Buffer | string;
  /** PEM client certificate chain, for mTLS; needs `privateKey`. Default: none. */
  readonly certChain?: Buffer | string;
  /** PEM private key of `certChain`. Default: none. */
  readonly privateKey?: Buffer | string;
  /**
   * The name the server certificate must carry when it differs from the target's host
   * (equivalent to GRPC_SSL_TARGET_NAME_OVERRIDE_ARG). Default: the target's host.
   */
  readonly serverName?: string;
}

/** The PEM value as a Buffer, as grpc-js wants it. */
export function pemBuffer(value: Buffer | string | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === "string" ? Buffer.from(value) : value;
}
