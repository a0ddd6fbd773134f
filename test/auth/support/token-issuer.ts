import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";

export const issuer = "https://issuer.test";
export const audience = "guarded.test";

/** How the JWKS endpoint behaves: serving, failing with 503, or answering after 10 s. */
export type JwksMode = "up" | "down" | "slow";

/** A test token issuer: ES256 keys, a JWKS endpoint on 127.0.0.1, and token helpers. */
export interface TokenIssuer {
  readonly jwksUrl: string;
  /** Keys published in the JWKS. */
  readonly publicJwk: JWK;
  readonly publicPem: string;
  mode: JwksMode;
  /** Times the JWKS was fetched. */
  fetches: number;
  /** A valid token (1 h) with `claims` merged over the defaults, signed by the published key. */
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>;
  /** Publishes another key (kid "k2") from now on; tokens signed with it are `signWithSecond`. */
  rotate(): Promise<void>;
  signWithSecond(claims?: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  /** Sign with a key the JWKS does not publish (under this kid). */
  readonly unknownKid?: string;
  readonly expiresIn?: string | number;
  readonly notBefore?: string | number;
}

export async function createTokenIssuer(): Promise<TokenIssuer> {
  const first = await generateKeyPair("ES256", { extractable: true });
  const second = await generateKeyPair("ES256", { extractable: true });
  const stranger = await generateKeyPair("ES256", { extractable: true });
  const publicJwk = { ...(await exportJWK(first.publicKey)), kid: "k1", alg: "ES256" };
  const secondJwk = { ...(await exportJWK(second.publicKey)), kid: "k2", alg: "ES256" };
  const published: JWK[] = [publicJwk];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((_request, response) => {
    state.fetches++;
    if (state.mode === "down") {
      response.statusCode = 503;
      response.end();
      return;
    }
    const send = () => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ keys: published }));
    };
    if (state.mode === "slow") {
      const timer = setTimeout(send, 10_000);
      timers.add(timer);
      response.on("close", () => clearTimeout(timer));
    } else send();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  const signWith = (key: CryptoKey, kid: string, claims: JWTPayload, options: SignOptions) => {
    const jwt = new SignJWT({ scope: "orders:read", ...claims })
      .setProtectedHeader({ alg: "ES256", kid })
      .setIssuer(typeof claims.iss === "string" ? claims.iss : issuer)
      .setAudience((claims.aud as string | string[] | undefined) ?? audience)
      .setSubject(typeof claims.sub === "string" ? claims.sub : "user-1")
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? "1h");
    if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
    return jwt.sign(key);
  };

  const state: TokenIssuer = {
    jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
    publicJwk,
    publicPem: await exportSPKI(first.publicKey),
    mode: "up",
    fetches: 0,
    sign(claims = {}, options = {}) {
      if (options.unknownKid) {
        return signWith(stranger.privateKey, options.unknownKid, claims, options);
      }
      return signWith(first.privateKey, "k1", claims, options);
    },
    async rotate() {
      published.push(secondJwk);
    },
    signWithSecond(claims = {}) {
      return signWith(second.privateKey, "k2", claims, {});
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return state;
}

/** base64url of a JSON value, for hand-made (hostile) tokens. */
export function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
