import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createSecureContext } from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";

/** PEM files of a TLS identity, read again when they change (certificate rotation). */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA certificates client certificates must chain to (mTLS). */
  readonly caFile?: string | undefined;
}

/** What `node:tls` takes: the PEM contents of `TlsFiles`. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer | undefined;
}

/** Reads the files now; a missing or unreadable file throws InvalidArgument. */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  try {
    return {
      cert: readFileSync(files.certFile),
      key: readFileSync(files.keyFile),
      ...(files.caFile ? { ca: readFileSync(files.caFile) } : {}),
    };
  } catch (cause) {
    throw new ConnectError(
      `cannot read TLS files: ${(cause as Error).message}`,
      Code.InvalidArgument,
      undefined,
      undefined,
      cause,
    );
  }
}

export interface TlsFileWatch {
  close(): void;
}

/**
 * Polls the files' status every `intervalMs` (`fs.watchFile`: it follows the symlink swaps of
 * Kubernetes secret volumes and atomic renames, which `fs.watch` misses) and hands a freshly
 * read, consistent set to `onChange`. A set that does not load (a certificate written before
 * its key, a key that does not match) is skipped: the server keeps the previous one and tries
 * again at the next change or poll. Connections already open keep the context they started with.
 */
export function watchTlsFiles(
  files: TlsFiles,
  intervalMs: number,
  onChange: (material: TlsMaterial) => void,
  onError: (error: unknown) => void = () => {},
): TlsFileWatch {
  const paths = [files.certFile, files.keyFile, ...(files.caFile ? [files.caFile] : [])];
  let pendingRetry = false;
  const reload = () => {
    try {
      const material = readTlsFiles(files);
      // Throws on a key that does not match its certificate, or unparsable PEM.
      createSecureContext(material);
      pendingRetry = false;
      onChange(material);
    } catch (error) {
      pendingRetry = true;
      onError(error);
    }
  };
  const listener = () => reload();
  for (const path of paths) watchFile(path, { interval: intervalMs, persistent: false }, listener);
  // A half-written set is retried on the next poll even if no file changes again.
  const retry = setInterval(() => {
    if (pendingRetry) reload();
  }, intervalMs);
  retry.unref();
  return {
    close() {
      clearInterval(retry);
      for (const path of paths) unwatchFile(path, listener);
    },
  };
}
