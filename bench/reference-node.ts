/**
 * The reference server: a yardstick for the benchmark, not a TCS. It is the thinnest direct-model
 * server that still does a worker's whole job on the same cores: read a JSON-RPC WorkOrderSubmit over
 * HTTP, hand its params to one of N worker processes (round robin, V8 serialisation as TCF's IPC),
 * which open the work order, run echo-result and seal the result with TCF's own worker functions, and
 * answer with that result. It stores nothing, checks nothing beyond what opening a work order checks,
 * and signs no receipt update. So the benchmark can tell apart what this machine costs (HTTP, JSON,
 * process hops on shared cores) from what TCF adds to it (durable commits, request checks, the
 * manager's claims, the signed receipt update).
 *
 * Usage: node --import tsx bench/reference-node.ts <worker processes>
 * prints one JSON line: { url, worker: WorkerPublicKeys, pids: [main, ...workers] }.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  encryptionKeyFromPem,
  encryptionKeyToPem,
  generateEncryptionKey,
  generateSigningKey,
  signingKeyFromPem,
  signingKeyToPem,
} from '../src/crypto/index.js';
import type { WorkOrderRequest } from '../src/protocol/messages.js';
import { EchoResult } from '../src/workloads/index.js';
import { openWorkOrder, sealWorkOrderResult, type WorkerPublicKeys, type WorkerSecrets } from '../src/workorder/index.js';

const WORKER_ID = 'ab'.repeat(32);
let stopping = false;
const RSA_BITS = 3072;

interface WorkerKeys {
  encryptionKeyPem: string;
  signingKeyPem: string;
}
type ToWorker = { type: 'init'; keys: WorkerKeys } | { type: 'work'; id: number; request: WorkOrderRequest };
type FromWorker = { type: 'ready' } | { type: 'done'; id: number; result: unknown };

function runWorker(): void {
  const echo = new EchoResult();
  let secrets: WorkerSecrets | undefined;
  process.on('message', async (message: ToWorker) => {
    if (message.type === 'init') {
      secrets = {
        workerId: WORKER_ID,
        signingKey: signingKeyFromPem(message.keys.signingKeyPem),
        encryptionKey: encryptionKeyFromPem(message.keys.encryptionKeyPem),
        hashingAlgorithm: 'SHA-256',
      };
      process.send!({ type: 'ready' } satisfies FromWorker);
      return;
    }
    const opened = openWorkOrder(message.request, secrets!);
    const { result } = sealWorkOrderResult(opened, await echo.process(opened.inputs), secrets!);
    process.send!({ type: 'done', id: message.id, result } satisfies FromWorker);
  });
  process.on('disconnect', () => process.exit(0));
}

async function startWorker(keys: WorkerKeys, answers: Map<number, (result: unknown) => void>): Promise<ChildProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['worker'], { execArgv: process.execArgv, serialization: 'advanced' });
  const ready = new Promise<void>((resolve) => {
    child.on('message', (message: FromWorker) => {
      if (message.type === 'ready') resolve();
      else answers.get(message.id)?.(message.result);
    });
  });
  // A lost worker would leave its requests unanswered and the load generator waiting: fail the run instead.
  child.once('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`reference server: a worker process exited (${signal ?? `code ${code}`})\n`);
    process.exit(1);
  });
  child.send({ type: 'init', keys } satisfies ToWorker);
  await ready;
  return child;
}

async function serve(processes: number): Promise<void> {
  const encryptionKey = generateEncryptionKey(RSA_BITS);
  const signingKey = generateSigningKey();
  const keys: WorkerKeys = { encryptionKeyPem: encryptionKeyToPem(encryptionKey), signingKeyPem: signingKeyToPem(signingKey) };
  const answers = new Map<number, (result: unknown) => void>();
  const workers = await Promise.all(Array.from({ length: processes }, () => startWorker(keys, answers)));
  let nextId = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: unknown; params: WorkOrderRequest };
      const id = nextId++;
      answers.set(id, (result) => {
        answers.delete(id);
        const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: call.id, result }));
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        response.end(body);
      });
      workers[id % workers.length]!.send({ type: 'work', id, request: call.params } satisfies ToWorker);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const worker: WorkerPublicKeys = { workerId: WORKER_ID, encryptionKeyPem: encryptionKey.publicKeyPem, verificationKeyPem: signingKey.publicKeyPem };
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}`, worker, pids: [process.pid, ...workers.map((child) => child.pid!)] }) + '\n');
  process.on('SIGTERM', () => {
    stopping = true;
    for (const child of workers) child.disconnect();
    server.close();
    server.closeAllConnections();
  });
}

if (process.argv[2] === 'worker') runWorker();
else await serve(Number(process.argv[2] ?? 1));
