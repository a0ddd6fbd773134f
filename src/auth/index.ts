export type { Credentials } from "./authorize.js";
export { authorize, authorizeCall } from "./authorize.js";
export type { JwtVerifierOptions, TokenVerifier, VerifiedToken } from "./jwt-verifier.js";
export { createJwtVerifier, jwtVerifierDefaults } from "./jwt-verifier.js";
export { identityFromCertificate, peerIdentityOf } from "./peer-identity.js";
export type { EndpointAuth, MethodCheck, ServerAuth, ServerAuthOptions } from "./server-auth.js";
export { createServerAuth, serverAuthDefaults } from "./server-auth.js";
export type { TlsFiles, TlsFileWatch, TlsMaterial } from "./tls-files.js";
export { readTlsFiles, watchTlsFiles } from "./tls-files.js";
export type {
  ClientCredentialsOptions,
  TokenFetcher,
  TokenGrant,
  TokenSource,
  TokenSourceOptions,
} from "./token-source.js";
export { clientCredentials, createTokenSource, tokenSourceDefaults } from "./token-source.js";
