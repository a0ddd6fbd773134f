import type { PeerCertificate, TLSSocket } from "node:tls";

/**
 * The identity a verified client certificate names: its first URI SAN (SPIFFE style,
 * `spiffe://trust-domain/path`), else its first DNS SAN, else its subject CN; undefined for
 * no certificate. Only call it on certificates the TLS layer verified.
 */
export function identityFromCertificate(
  certificate: Pick<PeerCertificate, "subject" | "subjectaltname"> | undefined | null,
): string | undefined {
  if (!certificate) return undefined;
  const names = subjectAltNames(certificate.subjectaltname);
  const uri = names.find((name) => name.type === "URI");
  if (uri) return uri.value;
  const dns = names.find((name) => name.type === "DNS");
  if (dns) return dns.value;
  const cn = certificate.subject?.CN;
  if (typeof cn === "string" && cn !== "") return cn;
  if (Array.isArray(cn) && typeof cn[0] === "string") return cn[0];
  return undefined;
}

const identities = new WeakMap<object, string | null>();

/**
 * The identity of the client certificate a TLS connection verified, computed once per
 * connection: the certificate cannot change for the life of the connection, and a rotated CA
 * or certificate applies to new connections only. Undefined on cleartext connections, and
 * when the client sent no certificate or the server did not verify it.
 */
export function peerIdentityOf(socket: object | undefined): string | undefined {
  if (!socket) return undefined;
  const known = identities.get(socket);
  if (known !== undefined) return known ?? undefined;
  const tls = socket as Partial<TLSSocket>;
  let identity: string | undefined;
  if (tls.encrypted && tls.authorized && typeof tls.getPeerCertificate === "function") {
    identity = identityFromCertificate(tls.getPeerCertificate());
  }
  identities.set(socket, identity ?? null);
  return identity;
}

interface AltName {
  readonly type: string;
  readonly value: string;
}

/**
 * Parses node's `subjectaltname` string ("DNS:a, URI:spiffe://b, IP Address:1.2.3.4"); node
 * JSON-quotes a value holding a comma or quote, so a quoted value is read as a JSON string.
 */
function subjectAltNames(text: string | undefined): AltName[] {
  if (!text) return [];
  const names: AltName[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        value = text.slice(colon + 2, end);
      }
      next = text.indexOf(",", end + 1);
    } else {
      next = text.indexOf(",", colon + 1);
      value = text.slice(colon + 1, next < 0 ? undefined : next);
    }
    names.push({ type, value });
    if (next < 0) break;
    i = next + 1;
  }
  return names;
}
