/**
 * Metric building blocks in the Prometheus text format, for the parts of a node that report on
 * themselves (the listener, the service, the enclave manager): a latency histogram and counters,
 * plain or with one label. Each part owns its figures and renders its own lines; the listener serves them all at
 * GET /metrics.
 */

/** Upper bounds in seconds: fine around the few milliseconds a work order takes, coarse beyond. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export class Histogram {
  private readonly bucketCounts: number[];
  private sumSeconds = 0;
  private count = 0;

  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly bounds: readonly number[] = LATENCY_BUCKETS_SECONDS,
  ) {
    this.bucketCounts = bounds.map(() => 0);
  }

  observeMs(elapsedMs: number): void {
    const seconds = elapsedMs / 1000;
    this.sumSeconds += seconds;
    this.count += 1;
    const bucket = this.bounds.findIndex((bound) => seconds <= bound);
    if (bucket >= 0) this.bucketCounts[bucket]! += 1;
  }

  lines(): string[] {
    let cumulative = 0;
    const buckets = this.bounds.map((bound, index) => {
      cumulative += this.bucketCounts[index]!;
      return `${this.name}_bucket{le="${bound}"} ${cumulative}`;
    });
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} histogram`,
      ...buckets,
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sumSeconds.toFixed(6)}`,
      `${this.name}_count ${this.count}`,
    ];
  }
}

/** A counter per value of one label; a label value appears once it has been counted. */
export class LabelledCounter {
  private readonly values = new Map<string, number>();

  constructor(
    private readonly name: string,
    private readonly help: string,
    private readonly label: string,
  ) {}

  add(labelValue: string, amount = 1): void {
    this.values.set(labelValue, (this.values.get(labelValue) ?? 0) + amount);
  }

  lines(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...[...this.values].map(([value, count]) => `${this.name}{${this.label}="${value}"} ${count}`),
    ];
  }
}

export class Counter {
  private value = 0;

  constructor(
    private readonly name: string,
    private readonly help: string,
  ) {}

  add(amount = 1): void {
    this.value += amount;
  }

  lines(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, `${this.name} ${this.value}`];
  }
}
