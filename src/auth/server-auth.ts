import type { DescMethod } from "@bufbuild/protobuf";
import type { Principal } from "../context/index.js";
import { type MethodAuth, readMethodAuth } from "../contract/index.js";
import { authorizeCall } from "./authorize.js";
import { createJwtVerifier, type JwtVerifierOptions, type TokenVerifier } from "./jwt-verifier.js";

/** Whether a built-in endpoint is open to anyone or needs an authenticated caller. */
export type EndpointAuth = "open" | "authenticated";

/**
 * Server-side authentication. With these options every method follows its contract's `auth`
 * policy and its defaults (PUBLIC methods need an authenticated caller). Without them, a
 * server enforces only methods whose contract writes an `auth` policy, and accepts no tokens.
 */
export interface ServerAuthOptions {
  /**
   * How bearer tokens are verified: JWT options (`createJwtVerifier`) or a verifier of your
   * own. Default none: a call carrying a token is refused UNAUTHENTICATED.
   */
  readonly tokens?: TokenVerifier | JwtVerifierOptions | undefined;
  /** `grpc.health.v1.Health`. Default "open": probes from the orchestrator carry no token. */
  readonly health?: EndpointAuth | undefined;
  /** The reflection services. Default "authenticated": they describe every contract. */
  readonly reflection?: EndpointAuth | undefined;
  /**
   * The HTTP metrics path. Default "open": scrapers on the private network carry no token;
   * "authenticated" answers 401 without a valid token or client certificate.
   */
  readonly metrics?: EndpointAuth | undefined;
}

/** Every server auth default in one place. */
export const serverAuthDefaults = {
  health: "open",
  reflection: "authenticated",
  metrics: "open",
} as const satisfies Record<string, EndpointAuth>;

/** One method's check: the caller's principal, or a thrown / rejected `ConnectError`. */
export type MethodCheck = (
  authorization: string | undefined,
  peerIdentity: string | undefined,
) => Principal | undefined | Promise<Principal | undefined>;

/** The server's auth, resolved once when the server is built; engines ask it per method. */
export interface ServerAuth {
  /** The check for a method, or undefined when the method needs none (no per-call cost). */
  forMethod(method: DescMethod): MethodCheck | undefined;
  /** The check for the metrics path, or undefined when it is open. */
  readonly metrics: MethodCheck | undefined;
}

const reflectionServices = new Set([
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/** Resolves the server's auth options (bad JWT options throw here, InvalidArgument). */
export function createServerAuth(options: ServerAuthOptions | undefined): ServerAuth {
  const tokens = options?.tokens;
  const verifier: TokenVerifier | undefined =
    tokens === undefined ? undefined : "verify" in tokens ? tokens : createJwtVerifier(tokens);
  const checkOf =
    (auth: MethodAuth): MethodCheck =>
    (authorization, peerIdentity) =>
      authorizeCall(auth, authorization, peerIdentity, verifier);
  const endpoint = (name: string, setting: EndpointAuth): MethodCheck | undefined =>
    setting === "open" ? undefined : checkOf(authenticated(name));
  return {
    forMethod(method) {
      const service = method.parent.typeName;
      if (service === "grpc.health.v1.Health") {
        return endpoint(`/${service}/${method.name}`, options?.health ?? serverAuthDefaults.health);
      }
      if (reflectionServices.has(service)) {
        // Without auth options there is nothing to authenticate with: reflection stays as it was.
        if (!options) return undefined;
        return endpoint(
          `/${service}/${method.name}`,
          options.reflection ?? serverAuthDefaults.reflection,
        );
      }
      const auth = readMethodAuth(method);
      if (!options && !auth.explicit) return undefined;
      return checkOf(auth);
    },
    metrics: endpoint("metrics", options?.metrics ?? serverAuthDefaults.metrics),
  };
}

function authenticated(name: string): MethodAuth {
  return {
    name,
    authenticationRequired: true,
    scopes: [],
    scopesMatch: "all-of",
    roles: [],
    rolesMatch: "any-of",
    identities: [],
    explicit: true,
  };
}
