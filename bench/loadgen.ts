/**
 * The load generator: a separate process that plays N concurrent requesters against a TCS. Work
 * orders are built (encrypted, optionally signed) before the clock starts, so the measurement is the
 * node's work, not the requester's; each requester then submits synchronously, one at a time, over its
 * own keep-alive connection, and records the latency. The HTTP client is a minimal one over a socket
 * (request bytes prepared in advance, replies framed by Content-Length) because it shares the node's
 * cores. After the timed run a sample of results is verified and decrypted, so a fast-but-wrong node
 * cannot score.
 *
 * Usage: node --import tsx bench/loadgen.ts '<json options>'   (prints one JSON line of figures)
 */
import net from 'node:net';
import { generateSigningKey, textToHex } from '../src/crypto/index.js';
import { TcfClient } from '../src/client/index.js';
import { buildWorkOrder, openWorkOrderResult, type BuiltWorkOrder, type WorkerPublicKeys } from '../src/workorder/index.js';
import { percentile } from './percentile.js';

export interface LoadOptions {
  url: string;
  workerId: string;
  concurrency: number;
  count: number;
  inputBytes: number;
  signed: boolean;
  /** The worker's keys when the server has no registry to look them up in (the reference server). */
  worker?: WorkerPublicKeys;
}

export interface LoadFigures {
  completed: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  verified: number;
  /** CPU time this process spent during the timed run (it shares the machine with the node). */
  cpuMs: number;
}

/** One keep-alive HTTP/1.1 connection that posts prepared requests one at a time. */
class Connection {
  private readonly socket: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (body: string) => void; reject: (error: Error) => void } | undefined;

  constructor(url: URL) {
    this.socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
    this.socket.on('error', (error) => this.waiting?.reject(error));
    this.socket.on('close', () => this.waiting?.reject(new Error('the node closed the connection')));
  }

  static request(url: URL, body: string): Buffer {
    const head = `POST / HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return Buffer.from(head + body);
  }

  post(request: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  private deliver(): void {
    const headEnd = this.buffered.indexOf('\r\n\r\n');
    if (headEnd < 0 || !this.waiting) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!head.startsWith('HTTP/1.1 200') || !length) {
      this.waiting.reject(new Error(`unexpected reply: ${head.split('\r\n')[0]}`));
      return;
    }
    const end = headEnd + 4 + Number(length[1]);
    if (this.buffered.length < end) return;
    const body = this.buffered.toString('utf8', headEnd + 4, end);
    this.buffered = this.buffered.subarray(end);
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve(body);
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function generateLoad(options: LoadOptions): Promise<LoadFigures> {
  const workerKeys = options.worker ?? (await new TcfClient(options.url).trustedWorker(options.workerId)).keys;
  const signer = options.signed ? generateSigningKey() : undefined;
  const payload = 'x'.repeat(options.inputBytes);
  const url = new URL(options.url);
  const orders: { built: BuiltWorkOrder; request: Buffer }[] = [];
  for (let index = 0; index < options.count; index += 1) {
    const buildOptions: Parameters<typeof buildWorkOrder>[0] = {
      worker: workerKeys,
      workloadId: textToHex('echo-result'),
      inData: [{ data: payload }],
      responseTimeoutMSecs: 60_000,
    };
    if (signer) buildOptions.signer = signer;
    const built = buildWorkOrder(buildOptions);
    orders.push({ built, request: Connection.request(url, JSON.stringify({ jsonrpc: '2.0', id: index, method: 'WorkOrderSubmit', params: built.params })) });
  }

  const connections = Array.from({ length: options.concurrency }, () => new Connection(url));
  const latencies: number[] = [];
  const replies: string[] = new Array(options.count);
  let next = 0;
  let errors = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    connections.map(async (connection) => {
      for (;;) {
        const index = next++;
        if (index >= orders.length) return;
        const sent = performance.now();
        const reply = await connection.post(orders[index]!.request);
        latencies.push(performance.now() - sent);
        replies[index] = reply;
        if (!reply.includes('"result"')) errors += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  for (const connection of connections) connection.close();

  let verified = 0;
  for (let index = 0; index < orders.length; index += Math.max(1, Math.floor(orders.length / 20))) {
    const reply = JSON.parse(replies[index]!) as { result?: unknown };
    if (!reply.result) continue;
    const opened = openWorkOrderResult(reply.result, orders[index]!.built, workerKeys);
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
    meanMs: latencies.reduce((sum, latency) => sum + latency, 0) / latencies.length,
    verified,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
  process.stdout.write(JSON.stringify(await generateLoad(options)) + '\n');
}
