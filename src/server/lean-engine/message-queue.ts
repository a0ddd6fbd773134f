/** The request messages of a client- or bidi-streaming call, as the handler's async iterable. */
export interface MessageQueue<T> extends AsyncIterable<T> {
  push(message: T): void;
  /** No more messages: the iteration ends once the queue is drained. */
  end(): void;
  /** The iteration throws `error` once the queue is drained. */
  fail(error: unknown): void;
  /** Messages waiting for the handler. */
  readonly size: number;
}

/**
 * Hand-written: a minimal push-to-pull queue. `onDrained` lets the engine pause the HTTP/2
 * stream while the handler falls behind (flow control reaches the client) and resume it.
 */
export function createMessageQueue<T>(onDrained: () => void): MessageQueue<T> {
  const items: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let waitingReject: ((error: unknown) => void) | undefined;

  const settle = () => {
    if (!waiting) return;
    const resolve = waiting;
    const reject = waitingReject;
    if (items.length > 0) {
      waiting = waitingReject = undefined;
      resolve({ done: false, value: items.shift() as T });
      if (items.length === 0) onDrained();
    } else if (failure) {
      waiting = waitingReject = undefined;
      reject?.(failure.error);
    } else if (ended) {
      waiting = waitingReject = undefined;
      resolve({ done: true, value: undefined });
    }
  };

  return {
    push(message) {
      items.push(message);
      settle();
    },
    end() {
      ended = true;
      settle();
    },
    fail(error) {
      failure ??= { error };
      settle();
    },
    get size() {
      return items.length;
    },
    [Symbol.asyncIterator]() {
      return {
        next() {
          return new Promise<IteratorResult<T>>((resolve, reject) => {
            waiting = resolve;
            waitingReject = reject;
            settle();
          });
        },
        return() {
          ended = true;
          items.length = 0;
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}
