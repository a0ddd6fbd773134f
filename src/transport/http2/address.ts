/** One place a server listens: a TCP host (an IP, after resolution) and port, or a Unix socket. */
export type Address = { readonly host: string; readonly port: number } | { readonly path: string };

/** A stable string for an address, to match resolver answers with existing connections. */
export function addressKey(address: Address): string {
  if ("path" in address) return `unix:${address.path}`;
  return address.host.includes(":")
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
