/**
 * Who is calling, as the server established it before the handler ran: the identity of a
 * verified client certificate (mTLS) and/or the claims of a verified bearer token. Handlers
 * read it from `currentCallContext()?.principal`; it is undefined for anonymous callers.
 */
export interface Principal {
  /**
   * The verified client certificate's identity: its URI SAN (e.g. `spiffe://…`), else its
   * first DNS SAN, else its subject CN. Undefined without a client certificate.
   */
  readonly identity: string | undefined;
  /** The verified token's `sub`, if the call carried a token that has one. */
  readonly subject: string | undefined;
  /** The verified token's claims (payload), frozen; undefined without a token. */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /** Scopes from the token's `scope` (space-separated) or `scp` claim. */
  readonly scopes: ReadonlySet<string>;
  /** Roles from the token's roles claim (`roles` unless configured otherwise). */
  readonly roles: ReadonlySet<string>;
  /**
   * The raw bearer token, kept only so a client can forward it when its target opts in
   * (`forwardInboundToken`); never logged.
   */
  readonly token: string | undefined;
}
