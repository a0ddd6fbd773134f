import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { readTlsFiles, type TlsFileWatch, type TlsMaterial, watchTlsFiles } from "../auth/index.js";
import { serverDefaults } from "./server-defaults.js";

/**
 * TLS for the listener; HTTP/2 and HTTP/1.1 are negotiated by ALPN. Give the PEM contents
 * (`cert`, `key`, `ca`) or their files (`certFile`, `keyFile`, `caFile`): files are watched and
 * a rotated certificate or CA applies to new connections without a restart.
 */
export interface ServerTlsOptions {
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  /** CA certificates that client certificates must chain to (with `requireClientCert`). */
  readonly ca?: string | Buffer | undefined;
  /** PEM certificate chain file, instead of `cert`; reloaded when it changes. */
  readonly certFile?: string | undefined;
  /** PEM private key file, instead of `key`; reloaded when it changes. */
  readonly keyFile?: string | undefined;
  /** PEM CA file, instead of `ca`; reloaded when it changes. */
  readonly caFile?: string | undefined;
  /** How often the files are checked for changes. Default 5 s. */
  readonly reloadIntervalMs?: number | undefined;
  /** Called when a changed set of files cannot be loaded (the previous one stays). */
  readonly onReloadError?: ((error: unknown) => void) | undefined;
  /**
   * Mutual TLS: refuse clients without a certificate signed by `ca`. Default false. The
   * certificate's identity (URI SAN, else DNS SAN, else CN) is then in the call context
   * (`peerIdentity`) and the access log.
   */
  readonly requireClientCert?: boolean | undefined;
}

/** The listener's PEM material, from the options' contents or their files. */
export function tlsMaterialOf(tls: ServerTlsOptions): TlsMaterial {
  if (tls.certFile !== undefined || tls.keyFile !== undefined) {
    if (tls.certFile === undefined || tls.keyFile === undefined) {
      throw new ConnectError("tls: give both certFile and keyFile", Code.InvalidArgument);
    }
    return readTlsFiles({ certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.caFile });
  }
  if (tls.cert === undefined || tls.key === undefined) {
    throw new ConnectError("tls: give cert and key, or certFile and keyFile", Code.InvalidArgument);
  }
  const pem = (value: string | Buffer) => (typeof value === "string" ? Buffer.from(value) : value);
  const ca = tls.caFile !== undefined ? readFileSync(tls.caFile) : tls.ca;
  return { cert: pem(tls.cert), key: pem(tls.key), ...(ca !== undefined ? { ca: pem(ca) } : {}) };
}

/** Watches the files of a file-based TLS option; undefined when it has none. */
export function watchTlsOf(
  tls: ServerTlsOptions | undefined,
  apply: (material: TlsMaterial) => void,
): TlsFileWatch | undefined {
  if (!tls?.certFile || !tls.keyFile) return undefined;
  return watchTlsFiles(
    { certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.caFile },
    tls.reloadIntervalMs ?? serverDefaults.tlsReloadIntervalMs,
    (material) => {
      // A CA given inline stays: only what came from files is replaced.
      apply(
        material.ca === undefined && tls.ca !== undefined
          ? { ...material, ca: Buffer.from(tls.ca) }
          : material,
      );
    },
    tls.onReloadError,
  );
}
