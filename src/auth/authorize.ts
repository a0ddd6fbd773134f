import { Code, ConnectError } from "@connectrpc/connect";
import type { Principal } from "../context/index.js";
import type { AuthMatch, MethodAuth } from "../contract/index.js";
import type { TokenVerifier, VerifiedToken } from "./jwt-verifier.js";

/** What a caller presented, as every front door (server engines, gateway) reads it. */
export interface Credentials {
  /** The `authorization` header value, if any (`Bearer <token>`). */
  readonly authorization: string | undefined;
  /** The identity of the client certificate the TLS layer verified, if any. */
  readonly peerIdentity: string | undefined;
}

/**
 * Decides one call: the caller's principal (undefined when anonymous and allowed), or a
 * `ConnectError` — UNAUTHENTICATED for a missing, malformed, invalid or expired credential
 * (with a `www-authenticate` header in its metadata, for the gateway's 401), PERMISSION_DENIED
 * for a valid caller without the right. Synchronous (a value or a throw) when the token is
 * cached or absent; a promise only while a new token is verified. Pure: it reads only its
 * arguments, so the server engines and the gateway decide alike.
 */
export function authorize(
  auth: MethodAuth,
  credentials: Credentials,
  verifier: TokenVerifier | undefined,
): Principal | undefined | Promise<Principal | undefined> {
  return authorizeCall(auth, credentials.authorization, credentials.peerIdentity, verifier);
}

/** `authorize` with the two credentials as arguments: no object per call on the hot path. */
export function authorizeCall(
  auth: MethodAuth,
  authorization: string | undefined,
  peerIdentity: string | undefined,
  verifier: TokenVerifier | undefined,
): Principal | undefined | Promise<Principal | undefined> {
  if (authorization === undefined || authorization === "") {
    if (peerIdentity === undefined) {
      if (auth.authenticationRequired) throw missing(auth);
      return undefined;
    }
    return permit(auth, identityPrincipal(peerIdentity));
  }
  const token = bearerToken(authorization);
  if (!verifier) throw unauthenticated("bearer tokens are not accepted by this server");
  const verified = verifier.verify(token);
  if (verified instanceof Promise) {
    return verified.then((v) => permit(auth, principalOf(v, peerIdentity, token)));
  }
  return permit(auth, principalOf(verified, peerIdentity, token));
}

function permit(auth: MethodAuth, principal: Principal): Principal {
  if (auth.identities.length > 0) {
    if (principal.identity === undefined) {
      throw new ConnectError(`${auth.name} needs a client certificate`, Code.PermissionDenied);
    }
    if (!auth.identities.includes(principal.identity)) {
      throw new ConnectError(
        `${principal.identity} may not call ${auth.name}`,
        Code.PermissionDenied,
      );
    }
  }
  if (!holds(principal.scopes, auth.scopes, auth.scopesMatch)) {
    throw new ConnectError(
      `${auth.name} needs ${auth.scopesMatch} scopes ${auth.scopes.join(" ")}`,
      Code.PermissionDenied,
    );
  }
  if (!holds(principal.roles, auth.roles, auth.rolesMatch)) {
    throw new ConnectError(
      `${auth.name} needs ${auth.rolesMatch} roles ${auth.roles.join(" ")}`,
      Code.PermissionDenied,
    );
  }
  return principal;
}

function holds(have: ReadonlySet<string>, need: readonly string[], match: AuthMatch): boolean {
  if (need.length === 0) return true;
  if (match === "any-of") return need.some((value) => have.has(value));
  return need.every((value) => have.has(value));
}

const bearerPrefix = /^bearer +/i;

function bearerToken(authorization: string): string {
  // The usual spelling without a regex match per call; any other casing or spacing below.
  if (authorization.startsWith("Bearer ") && authorization.charCodeAt(7) !== 32) {
    return authorization.slice(7).trim();
  }
  const prefix = bearerPrefix.exec(authorization);
  if (!prefix) throw unauthenticated("the authorization header must be `Bearer <token>`");
  const token = authorization.slice(prefix[0].length).trim();
  if (token === "") throw unauthenticated("empty bearer token");
  return token;
}

const emptySet: ReadonlySet<string> = new Set();

function identityPrincipal(identity: string): Principal {
  let principal = byIdentity.get(identity);
  if (!principal) {
    principal = Object.freeze({
      identity,
      subject: undefined,
      claims: undefined,
      scopes: emptySet,
      roles: emptySet,
      token: undefined,
    });
    // Bounded: identities are the few workloads of a mesh, but never trust that blindly.
    if (byIdentity.size > 10_000) byIdentity.clear();
    byIdentity.set(identity, principal);
  }
  return principal;
}

const byIdentity = new Map<string, Principal>();
// A verified token's principal (without a certificate) is made once: a cached token costs
// a lookup, not an object per call.
const byToken = new WeakMap<VerifiedToken, Principal>();

function principalOf(
  verified: VerifiedToken,
  identity: string | undefined,
  token: string,
): Principal {
  if (identity === undefined) {
    let principal = byToken.get(verified);
    if (!principal) {
      principal = Object.freeze(tokenPrincipal(verified, undefined, token));
      byToken.set(verified, principal);
    }
    return principal;
  }
  return Object.freeze(tokenPrincipal(verified, identity, token));
}

function tokenPrincipal(
  verified: VerifiedToken,
  identity: string | undefined,
  token: string,
): Principal {
  return {
    identity,
    subject: verified.subject,
    claims: verified.claims,
    scopes: verified.scopes,
    roles: verified.roles,
    token,
  };
}

function unauthenticated(message: string): ConnectError {
  const error = new ConnectError(message, Code.Unauthenticated);
  error.metadata.set("www-authenticate", 'Bearer error="invalid_request"');
  return error;
}

function missing(auth: MethodAuth): ConnectError {
  const error = new ConnectError(
    `${auth.name} needs an authenticated caller`,
    Code.Unauthenticated,
  );
  // RFC 6750 §3.1: no error code when the request carried no credential.
  error.metadata.set("www-authenticate", "Bearer");
  return error;
}
