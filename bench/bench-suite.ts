/**
 * One benchmark suite of `npm run bench`. Each suite measures protomesh against the raw
 * libraries in the same run (these machines are shared and noisy), so only ratios are compared
 * across runs.
 */
export interface BenchSuite {
  /** Short name, also the key of the suite's figures in bench/results/latest.json. */
  readonly name: string;
  run(options: BenchRunOptions): Promise<BenchReport>;
}

export interface BenchRunOptions {
  /** A short run that only proves the suite works (a few seconds); for smoke checks. */
  readonly quick: boolean;
}

export interface BenchReport {
  /** Human-readable results: markdown tables with requests/s, p50, p99, CPU, ratios. */
  readonly markdown: string;
  /** Everything measured, for tracking over time. */
  readonly figures: Readonly<Record<string, unknown>>;
  /** Headline ratios, merged into one `ratios` object across suites (names must be unique). */
  readonly ratios: Readonly<Record<string, number>>;
}
