import { Code, ConnectError } from "@connectrpc/connect";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";

/** A bearer token that passed every check, as the server keeps it (cached until `exp`). */
export interface VerifiedToken {
  /** The payload, frozen. */
  readonly claims: Readonly<JWTPayload>;
  readonly subject: string | undefined;
  readonly scopes: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  /** `exp` in epoch ms: the cache forgets the token then. */
  readonly expiresAtMs: number;
}

/**
 * Verifies bearer tokens. `verify` answers synchronously for a token verified before and not
 * yet expired (a Map lookup), else with a promise; failures are `ConnectError` UNAUTHENTICATED
 * with the reason in the message and jose's error as `cause`.
 */
export interface TokenVerifier {
  verify(token: string): VerifiedToken | Promise<VerifiedToken>;
}

export interface JwtVerifierOptions {
  /**
   * Where the issuer publishes its public keys (JWKS). Fetched on first use, kept for
   * `jwksCacheMaxAgeMs`, fetched again when a token names an unknown `kid` (at most once per
   * `jwksCooldownMs`), each fetch bounded by `jwksTimeoutMs`. Exactly one of `jwksUrl`, `keys`.
   */
  readonly jwksUrl?: string | URL | undefined;
  /** A static key set (public JWKs; `oct` keys only with HS* algorithms). */
  readonly keys?: JSONWebKeySet | undefined;
  /** Accepted `iss` values. Required: a token from another issuer is refused. */
  readonly issuer: string | readonly string[];
  /** Accepted `aud` values (the token needs one of them). Required. */
  readonly audience: string | readonly string[];
  /**
   * Accepted `alg` values. Default RS256, PS256, ES256, ES384, EdDSA, Ed25519. `none` is
   * refused here and by jose; HS* only with a static set of `oct` keys, so no token can be
   * "signed" with a public key used as an HMAC secret.
   */
  readonly algorithms?: readonly string[] | undefined;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. Default 30; at most 300. */
  readonly clockToleranceSec?: number | undefined;
  /** Longer tokens are refused before any parsing. Default 8 KiB. */
  readonly maxTokenBytes?: number | undefined;
  /** Verified tokens kept (until their `exp`). Default 10 000; 0 turns the cache off. */
  readonly cacheSize?: number | undefined;
  /** Bound of one JWKS fetch. Default 2 s. */
  readonly jwksTimeoutMs?: number | undefined;
  /** Least time between two JWKS fetches (unknown `kid` storms). Default 30 s, as jose's. */
  readonly jwksCooldownMs?: number | undefined;
  /** How long a fetched JWKS is trusted before it is fetched again. Default 10 min. */
  readonly jwksCacheMaxAgeMs?: number | undefined;
  /** The claim holding the caller's roles (an array or a space-separated string). Default "roles". */
  readonly rolesClaim?: string | undefined;
}

/** Every verifier default in one place; each is safe for production. */
export const jwtVerifierDefaults = {
  algorithms: ["RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519"],
  clockToleranceSec: 30,
  maxClockToleranceSec: 300,
  maxTokenBytes: 8 * 1024,
  cacheSize: 10_000,
  jwksTimeoutMs: 2_000,
  jwksCooldownMs: 30_000,
  jwksCacheMaxAgeMs: 10 * 60_000,
  rolesClaim: "roles",
} as const;

/**
 * A bearer-token verifier on `jose` (signature, `alg` allow-list, `iss`, `aud`, `exp`, `nbf`
 * with bounded skew; `exp` is required). Bad options throw here (InvalidArgument).
 */
export function createJwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const algorithms = [...(options.algorithms ?? jwtVerifierDefaults.algorithms)];
  const tolerance = options.clockToleranceSec ?? jwtVerifierDefaults.clockToleranceSec;
  const maxTokenBytes = options.maxTokenBytes ?? jwtVerifierDefaults.maxTokenBytes;
  const cacheSize = options.cacheSize ?? jwtVerifierDefaults.cacheSize;
  const rolesClaim = options.rolesClaim ?? jwtVerifierDefaults.rolesClaim;
  validate(options, algorithms, tolerance);
  const getKey = keyResolver(options);
  const verifyOptions = {
    issuer: toList(options.issuer),
    audience: toList(options.audience),
    algorithms,
    clockTolerance: tolerance,
    requiredClaims: ["exp"],
  };
  const cache = new Map<string, VerifiedToken>();
  const pending = new Map<string, Promise<VerifiedToken>>();

  async function verifyNow(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, getKey, verifyOptions);
      const verified: VerifiedToken = {
        claims: Object.freeze(payload),
        subject: payload.sub,
        scopes: scopesOf(payload),
        roles: listClaim(payload[rolesClaim]),
        expiresAtMs: (payload.exp as number) * 1000,
      };
      if (cacheSize > 0) {
        // FIFO bound: the oldest entry goes first; expired ones go when looked up.
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
        cache.set(token, verified);
      }
      return verified;
    } catch (error) {
      throw refused(reasonOf(error), error);
    } finally {
      pending.delete(token);
    }
  }

  return {
    verify(token) {
      if (token.length > maxTokenBytes) {
        throw refused(`token longer than ${maxTokenBytes} bytes`);
      }
      const hit = cache.get(token);
      if (hit) {
        if (hit.expiresAtMs > Date.now()) return hit;
        cache.delete(token);
      }
      // Concurrent calls with one new token share its verification.
      let inFlight = pending.get(token);
      if (!inFlight) {
        inFlight = verifyNow(token);
        pending.set(token, inFlight);
      }
      return inFlight;
    },
  };
}

function validate(options: JwtVerifierOptions, algorithms: string[], tolerance: number): void {
  const bad = (message: string) => new ConnectError(message, Code.InvalidArgument);
  if ((options.jwksUrl === undefined) === (options.keys === undefined)) {
    throw bad("JWT verifier: give exactly one of jwksUrl and keys");
  }
  if (toList(options.issuer).length === 0) throw bad("JWT verifier: issuer is required");
  if (toList(options.audience).length === 0) throw bad("JWT verifier: audience is required");
  if (algorithms.length === 0) throw bad("JWT verifier: algorithms must not be empty");
  if (algorithms.some((alg) => alg.toLowerCase() === "none")) {
    throw bad('JWT verifier: alg "none" is never accepted');
  }
  const hmac = algorithms.some((alg) => alg.startsWith("HS"));
  const onlySecrets = options.keys?.keys.every((key) => key.kty === "oct") ?? false;
  if (hmac && !onlySecrets) {
    throw bad("JWT verifier: HS* algorithms need a static key set of oct keys only");
  }
  if (!(tolerance >= 0 && tolerance <= jwtVerifierDefaults.maxClockToleranceSec)) {
    throw bad(
      `JWT verifier: clockToleranceSec must be 0..${jwtVerifierDefaults.maxClockToleranceSec}`,
    );
  }
}

/**
 * Static keys, or the remote set. jose refetches the remote set on an unknown `kid` (after the
 * cooldown) and when it is older than its max age; if that refetch fails (the endpoint is down
 * or slow), the keys fetched last still verify tokens that name them.
 */
function keyResolver(options: JwtVerifierOptions): JWTVerifyGetKey {
  if (options.keys) return createLocalJWKSet(options.keys);
  const remote = createRemoteJWKSet(new URL(String(options.jwksUrl)), {
    timeoutDuration: options.jwksTimeoutMs ?? jwtVerifierDefaults.jwksTimeoutMs,
    cooldownDuration: options.jwksCooldownMs ?? jwtVerifierDefaults.jwksCooldownMs,
    cacheMaxAge: options.jwksCacheMaxAgeMs ?? jwtVerifierDefaults.jwksCacheMaxAgeMs,
  });
  let lastKnown: { jwks: JSONWebKeySet; set: JWTVerifyGetKey } | undefined;
  return async (header, token) => {
    try {
      const key = await remote(header, token);
      const jwks = remote.jwks();
      if (jwks && lastKnown?.jwks !== jwks) lastKnown = { jwks, set: createLocalJWKSet(jwks) };
      return key;
    } catch (error) {
      if (!lastKnown || isNoMatchingKey(error)) throw error;
      return lastKnown.set(header, token);
    }
  };
}

function isNoMatchingKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ERR_JWKS_NO_MATCHING_KEY";
}

function refused(reason: string, cause?: unknown): ConnectError {
  const error = new ConnectError(
    `bearer token refused: ${reason}`,
    Code.Unauthenticated,
    undefined,
    undefined,
    cause,
  );
  // What the gateway answers in its 401 (RFC 6750 §3.1).
  error.metadata.set("www-authenticate", 'Bearer error="invalid_token"');
  return error;
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "expired";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "no key matches its kid and alg";
    case "ERR_JWKS_TIMEOUT":
      return "the key set could not be fetched in time";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "algorithm not allowed";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "bad signature";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  const scope = payload.scope;
  if (typeof scope === "string") return listClaim(scope);
  return listClaim(payload.scp);
}

function listClaim(value: unknown): ReadonlySet<string> {
  if (typeof value === "string") return new Set(value.split(" ").filter((s) => s !== ""));
  if (Array.isArray(value)) {
    return new Set(value.filter((item): item is string => typeof item === "string"));
  }
  return emptySet;
}

const emptySet: ReadonlySet<string> = new Set();

function toList(value: string | readonly string[]): string[] {
  return typeof value === "string" ? [value] : [...value];
}
