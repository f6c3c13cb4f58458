/**
 * In-process counters and latency sums for the listener, rendered in the Prometheus text format at
 * GET /metrics: calls per method and outcome code, the time spent answering them, and the transport's
 * defences (open and refused connections, answers cut for size, slow readers cut off). Other parts
 * of the process (the service, the enclave manager, the connector) add their own lines through addSource.
 */
import { Counter, LabelledCounter } from '../metrics/index.js';

export class Metrics {
  private readonly calls = new Map<string, { count: number; seconds: number }>();
  private readonly rejections = new LabelledCounter('tcf_listener_rejections_total', 'Requests refused before JSON-RPC dispatch.', 'reason');
  private readonly sources: (() => string[])[] = [];
  private openConnections = 0;
  readonly refusedConnections = new Counter('tcf_listener_connections_refused_total', 'Connections closed on arrival because listener.maxConnections were open.');
  readonly callsCutForSize = new Counter('tcf_listener_answers_cut_total', 'Calls answered "answer too large" because their answer would pass listener.maxAnswerBytes.');
  readonly slowReadersDestroyed = new Counter('tcf_listener_slow_readers_destroyed_total', 'Connections destroyed because the client did not take its answer within listener.writeTimeoutMs.');

  /** Lines in the Prometheus text format (HELP, TYPE and samples) appended to every rendering. */
  addSource(source: () => string[]): void {
    this.sources.push(source);
  }

  observe(method: string, outcome: number | 'ok', elapsedMs: number): void {
    const key = `method="${method}",outcome="${outcome}"`;
    const entry = this.calls.get(key) ?? { count: 0, seconds: 0 };
    entry.count += 1;
    entry.seconds += elapsedMs / 1000;
    this.calls.set(key, entry);
  }

  connectionOpened(): void {
    this.openConnections += 1;
  }

  connectionClosed(): void {
    this.openConnections -= 1;
  }

  count(reason: string): void {
    this.rejections.add(reason);
  }

  render(): string {
    const lines = [
      '# HELP tcf_rpc_calls_total JSON-RPC calls answered, by method and outcome (ok or error code).',
      '# TYPE tcf_rpc_calls_total counter',
      ...[...this.calls].map(([labels, entry]) => `tcf_rpc_calls_total{${labels}} ${entry.count}`),
      '# HELP tcf_rpc_seconds_total Time spent answering JSON-RPC calls.',
      '# TYPE tcf_rpc_seconds_total counter',
      ...[...this.calls].map(([labels, entry]) => `tcf_rpc_seconds_total{${labels}} ${entry.seconds.toFixed(6)}`),
      ...this.rejections.lines(),
      '# HELP tcf_listener_open_connections Connections open to the listener.',
      '# TYPE tcf_listener_open_connections gauge',
      `tcf_listener_open_connections ${this.openConnections}`,
      ...this.refusedConnections.lines(),
      ...this.callsCutForSize.lines(),
      ...this.slowReadersDestroyed.lines(),
      ...this.sources.flatMap((source) => source()),
    ];
    return lines.join('\n') + '\n';
  }
}
