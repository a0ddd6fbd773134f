import type { DescMethod } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { MethodCheck, ServerAuth } from "../auth/index.js";
import { type CallContext, currentCallContext, setPrincipal } from "../context/index.js";
import type { ServiceRegistration } from "./service-registration.js";

type AnyHandler = (input: unknown, context: HandlerContext) => unknown;

/** A handler context that reads one request header without building web `Headers`. */
interface RawHeaderReader {
  requestHeaderValue(name: string): string | undefined;
}

/**
 * The one place a call is authorized, whichever engine serves it: every method of a service is
 * wrapped so its check (`ServerAuth.forMethod`, from the contract) runs before the handler, in
 * the call context the engine made; the principal it returns is put in that context. Methods
 * that need no check are left unwrapped (no cost). A refused call fails with the check's
 * `ConnectError` (UNAUTHENTICATED / PERMISSION_DENIED) and never reaches the handler.
 */
export function withAuth(registration: ServiceRegistration, auth: ServerAuth): ServiceRegistration {
  const { service, impl } = registration;
  const guarded: Record<string, AnyHandler> = {};
  let any = false;
  for (const method of service.methods) {
    const handler = (impl as Record<string, AnyHandler | undefined>)[method.localName];
    if (!handler) continue;
    const check = auth.forMethod(method);
    any ||= check !== undefined;
    guarded[method.localName] = check
      ? guard(method, check, handler.bind(impl))
      : handler.bind(impl);
  }
  if (!any) return registration;
  // Same method names and signatures as the implementation it wraps.
  return { service, impl: guarded as unknown as ServiceRegistration["impl"] };
}

function guard(method: DescMethod, check: MethodCheck, handler: AnyHandler): AnyHandler {
  const streamsOut =
    method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  return (input, handlerContext) => {
    const context = currentCallContext();
    const decided = check(authorizationOf(handlerContext), context?.peerIdentity);
    if (!(decided instanceof Promise)) {
      if (context) setPrincipal(context, decided);
      return handler(input, handlerContext);
    }
    // A token seen for the first time: the handler runs once it is verified.
    if (!streamsOut) {
      return decided.then((principal) => {
        if (context) setPrincipal(context, principal);
        return handler(input, handlerContext);
      });
    }
    return afterCheck(decided, context, () => handler(input, handlerContext));
  };
}

async function* afterCheck(
  decided: Promise<CallContext["principal"]>,
  context: CallContext | undefined,
  run: () => unknown,
): AsyncGenerator<unknown> {
  const principal = await decided;
  if (context) setPrincipal(context, principal);
  yield* run() as AsyncIterable<unknown>;
}

function authorizationOf(handlerContext: HandlerContext): string | undefined {
  const raw = handlerContext as Partial<RawHeaderReader> & HandlerContext;
  if (typeof raw.requestHeaderValue === "function") {
    return raw.requestHeaderValue("authorization");
  }
  return handlerContext.requestHeader.get("authorization") ?? undefined;
}
