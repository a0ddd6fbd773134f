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
const HeadersBase = Headers as unknown as new () => HeadersMethods;

/** Copies a transport's own header representation into web `Headers`. */
export type FillHeaders<S> = (source: S, into: Headers) => void;

/**
 * Web `Headers` filled from a transport's own header representation only when first used (a
 * real `Headers` subclass). Most callers never read a unary response's headers or trailers,
 * and converting them up front (undici validating every value) costs ≈ 1 µs of every call on
 * the client's hot path. `fill` is a shared function, so no closure is made per call.
 */
class LazyHeaders<S> extends HeadersBase {
  #source: S | undefined;
  readonly #fillFrom: FillHeaders<S>;

  constructor(source: S, fill: FillHeaders<S>) {
    super();
    this.#source = source;
    this.#fillFrom = fill;
  }

  #fill(): void {
    const source = this.#source;
    if (source === undefined) return;
    this.#source = undefined;
    this.#fillFrom(source, this as unknown as Headers);
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
}

/** `source` as web `Headers`, converted by `fill` only if someone reads them. */
export function lazyHeaders<S>(source: S, fill: FillHeaders<S>): Headers {
  return new LazyHeaders(source, fill) as unknown as Headers;
}
