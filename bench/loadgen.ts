/**
 * The load generator: a separate process that plays N concurrent requesters against a TCS. Work
 * orders are built (encrypted, optionally signed) before the clock starts, so the measurement is the
 * node's work, not the requester's; each requester then submits synchronously, one at a time, over a
 * keep-alive connection, and records the latency. After the timed run a sample of results is verified
 * and decrypted, so a fast-but-wrong node cannot score.
 *
 * Usage: node --import tsx bench/loadgen.ts '<json options>'   (prints one JSON line of figures)
 */
import http from 'node:http';
import { generateSigningKey, textToHex } from '../src/crypto/index.js';
import { TcfClient } from '../src/client/index.js';
import { buildWorkOrder, openWorkOrderResult, type BuiltWorkOrder } from '../src/workorder/index.js';

export interface LoadOptions {
  url: string;
  workerId: string;
  concurrency: number;
  count: number;
  inputBytes: number;
  signed: boolean;
}

export interface LoadFigures {
  completed: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  verified: number;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function post(agent: http.Agent, url: URL, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { agent, host: url.hostname, port: url.port, path: '/', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

export async function generateLoad(options: LoadOptions): Promise<LoadFigures> {
  const client = new TcfClient(options.url);
  const worker = await client.trustedWorker(options.workerId);
  const signer = options.signed ? generateSigningKey() : undefined;
  const payload = 'x'.repeat(options.inputBytes);
  const orders: { built: BuiltWorkOrder; body: string }[] = [];
  for (let index = 0; index < options.count; index += 1) {
    const buildOptions: Parameters<typeof buildWorkOrder>[0] = {
      worker: worker.keys,
      workloadId: textToHex('echo-result'),
      inData: [{ data: payload }],
      responseTimeoutMSecs: 60_000,
    };
    if (signer) buildOptions.signer = signer;
    const built = buildWorkOrder(buildOptions);
    orders.push({ built, body: JSON.stringify({ jsonrpc: '2.0', id: index, method: 'WorkOrderSubmit', params: built.params }) });
  }

  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  const replies: string[] = new Array(options.count);
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      for (;;) {
        const index = next++;
        if (index >= orders.length) return;
        const sent = performance.now();
        const reply = await post(agent, url, orders[index]!.body);
        latencies.push(performance.now() - sent);
        replies[index] = reply;
        if (!reply.includes('"result"')) errors += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();

  let verified = 0;
  for (let index = 0; index < orders.length; index += Math.max(1, Math.floor(orders.length / 20))) {
    const reply = JSON.parse(replies[index]!) as { result?: unknown };
    if (!reply.result) continue;
    const opened = openWorkOrderResult(reply.result, orders[index]!.built, worker.keys);
    if (opened.outData[0]!.data.toString() === `RESULT: ${payload}`) verified += 1;
  }
  latencies.sort((a, b) => a - b);
  return {
    completed: options.count - errors,
    errors,
    seconds,
    perSecond: (options.count - errors) / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    verified,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
  process.stdout.write(JSON.stringify(await generateLoad(options)) + '\n');
}
