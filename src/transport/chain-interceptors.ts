import { ConnectError, type Interceptor } from "@connectrpc/connect";

type Next = Parameters<Interceptor>[0];

/**
 * `send` wrapped in `interceptors`, the first outermost (Connect's order), as one function built
 * once per transport, not per call. Our own senders only ever reject with a `ConnectError`; an
 * interceptor might throw or reject with anything, so whatever leaves is made a `ConnectError`.
 */
export function chainInterceptors(send: Next, interceptors: readonly Interceptor[]): Next {
  let chain = send;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    chain = (interceptors[i] as Interceptor)(chain);
  }
  return (req) => {
    try {
      return chain(req).catch(rethrowAsConnectError);
    } catch (error) {
      return Promise.reject(ConnectError.from(error));
    }
  };
}

function rethrowAsConnectError(error: unknown): never {
  throw ConnectError.from(error);
}
