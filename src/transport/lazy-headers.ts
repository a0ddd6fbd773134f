import type { Transport } from "@connectrpc/connect";

/** Headers' methods, declared as methods: the DOM typings declare them as properties. */
interface HeadersMethods {
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getSetCookie(): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

/** Copies a transport's own header representation into web `Headers`. */
export type FillHeaders<S> = (source: S, into: Headers) => void;

/**
 * Web `Headers` filled from a transport's own header representation only when first used (a
 * real `Headers` subclass). Most callers never read a unary response's headers or trailers,
 * and converting them up front (undici validating every value) costs ≈ 1 µs of every call on
 * the client's hot path. `fill` is a shared function, so no closure is made per call. The class
 * is defined on first use: naming the global `Headers` loads undici, which a process that never
 * builds one (the CLI's calls) should not pay for.
 */
const defineLazyHeaders = () =>
  class LazyHeaders<S> extends (Headers as unknown as new () => HeadersMethods) {
    #source: S | undefined;
    readonly #fillFrom: FillHeaders<S>;
    /** Values set over the source's before anyone read them (`setResponseTrailer`). */
    #sets: Record<string, string> | undefined;

    constructor(source: S, fill: FillHeaders<S>, sets: Record<string, string> | undefined) {
      super();
      this.#source = source;
      this.#fillFrom = fill;
      this.#sets = sets;
    }

    #fill(): void {
      const source = this.#source;
      if (source === undefined) return;
      this.#source = undefined;
      this.#fillFrom(source, this as unknown as Headers);
      const sets = this.#sets;
      if (sets === undefined) return;
      this.#sets = undefined;
      for (const name in sets) super.set(name, sets[name] as string);
    }

    override append(name: string, value: string): void {
      this.#fill();
      super.append(name, value);
    }

    override delete(name: string): void {
      this.#fill();
      super.delete(name);
    }

    override get(name: string): string | null {
      this.#fill();
      return super.get(name);
    }

    override getSetCookie(): string[] {
      this.#fill();
      return super.getSetCookie();
    }

    override has(name: string): boolean {
      this.#fill();
      return super.has(name);
    }

    override set(name: string, value: string): void {
      this.#fill();
      super.set(name, value);
    }

    override forEach(
      callback: (value: string, key: string, parent: Headers) => void,
      thisArg?: unknown,
    ): void {
      this.#fill();
      super.forEach(callback, thisArg);
    }

    override entries(): IterableIterator<[string, string]> {
      this.#fill();
      return super.entries();
    }

    override keys(): IterableIterator<string> {
      this.#fill();
      return super.keys();
    }

    override values(): IterableIterator<string> {
      this.#fill();
      return super.values();
    }

    override [Symbol.iterator](): IterableIterator<[string, string]> {
      this.#fill();
      return super[Symbol.iterator]();
    }
  };

type LazyHeadersClass = new <S>(
  source: S,
  fill: FillHeaders<S>,
  sets: Record<string, string> | undefined,
) => Headers;
let lazyHeadersClass: LazyHeadersClass | undefined;

function newLazyHeaders<S>(
  source: S,
  fill: FillHeaders<S>,
  sets: Record<string, string> | undefined,
): Headers {
  lazyHeadersClass ??= defineLazyHeaders() as unknown as LazyHeadersClass;
  return new lazyHeadersClass(source, fill, sets);
}

/** `source` as web `Headers`, converted by `fill` only if someone reads them. */
export function lazyHeaders<S>(source: S, fill: FillHeaders<S>): Headers {
  return newLazyHeaders(source, fill, undefined);
}

type UnaryResponse = Awaited<ReturnType<Transport["unary"]>>;

/**
 * A unary response whose `header` and `trailer` are made (as lazy `Headers`) only when first
 * read: most calls read neither, and each `Headers` costs undici a map and a list per call.
 * They are getters on the class, so spreading such a response (`{ ...response }`) leaves them
 * out: copy them by name. `source` undefined means none were received.
 */
export class LazyUnaryResponse<S> {
  readonly stream = false;
  #header: Headers | undefined;
  #trailer: Headers | undefined;
  #trailerSets: Record<string, string> | undefined;

  constructor(
    readonly service: UnaryResponse["service"],
    readonly method: UnaryResponse["method"],
    readonly message: UnaryResponse["message"],
    private readonly headerSource: S | undefined,
    private readonly trailerSource: S | undefined,
    private readonly fill: FillHeaders<S>,
  ) {}

  get header(): Headers {
    this.#header ??=
      this.headerSource === undefined
        ? new Headers()
        : newLazyHeaders(this.headerSource, this.fill, undefined);
    return this.#header;
  }

  get trailer(): Headers {
    if (this.#trailer === undefined) {
      const sets = this.#trailerSets;
      this.#trailerSets = undefined;
      this.#trailer =
        this.trailerSource === undefined
          ? new Headers(sets)
          : newLazyHeaders(this.trailerSource, this.fill, sets);
    }
    return this.#trailer;
  }

  /** Sets a trailer value without making the trailer's `Headers` yet. */
  setTrailer(name: string, value: string): void {
    if (this.#trailer !== undefined) {
      this.#trailer.set(name, value);
      return;
    }
    this.#trailerSets ??= {};
    this.#trailerSets[name] = value;
  }
}

/**
 * Sets `name` in a unary response's trailer (the resilience layer's attempt count): deferred
 * until the trailer is read when the transport answered with a `LazyUnaryResponse`.
 */
export function setResponseTrailer(response: UnaryResponse, name: string, value: string): void {
  if (response instanceof LazyUnaryResponse) response.setTrailer(name, value);
  else response.trailer.set(name, value);
}
