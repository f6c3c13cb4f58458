/**
 * The crypto-only bound: the work a worker cannot avoid for one work order (RSA-OAEP unwrap of the
 * session key, AES-GCM decrypt of the request hash and the input and encrypt of the output, the
 * SHA-256 hashes, one secp256k1 signature, and one requester-signature verification when signed),
 * done in a tight loop on every core with worker threads. End-to-end figures are reported as a
 * fraction of this. The same work timed one work order at a time on one core is the latency floor:
 * no node can answer a single requester faster.
 */
import os from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  ecdsaSignDigest,
  ecdsaVerifyDigest,
  generateEncryptionKey,
  generateSigningKey,
  hexToBytes,
  randomBytes,
  rsaOaepUnwrap,
  sha256,
  textToHex,
  workOrderRequestHash,
  workOrderResponseHash,
} from '../src/index.js';
import { buildWorkOrder } from '../src/workorder/index.js';
import { percentile } from './percentile.js';

export interface CryptoBoundCase {
  inputBytes: number;
  signed: boolean;
  rsaBits: number;
}

/** One work order's unavoidable crypto, on prepared material. */
function prepare(task: CryptoBoundCase) {
  const encryption = generateEncryptionKey(task.rsaBits);
  const worker = generateSigningKey();
  const requester = generateSigningKey();
  const options: Parameters<typeof buildWorkOrder>[0] = {
    worker: { workerId: 'ab'.repeat(32), encryptionKeyPem: encryption.publicKeyPem, verificationKeyPem: worker.publicKeyPem },
    workloadId: textToHex('echo-result'),
    inData: [{ data: randomBytes(task.inputBytes) }],
  };
  if (task.signed) options.signer = requester;
  const built = buildWorkOrder(options);
  const item = built.params.inData[0]!;
  const wrapped = hexToBytes(built.params.encryptedSessionKey);
  const encryptedHash = hexToBytes(built.params.encryptedRequestHash);
  const sessionKeyIv = hexToBytes(built.params.sessionKeyIv!);
  const itemIv = hexToBytes(item.iv!);
  const ciphertext = Buffer.from(item.data, 'base64');
  const signature = built.params.requesterSignature ? Buffer.from(built.params.requesterSignature, 'base64') : undefined;
  return () => {
    const sessionKey = rsaOaepUnwrap(encryption.privateKey, wrapped);
    const requestHash = workOrderRequestHash(built.params);
    aesGcmDecrypt(sessionKey, sessionKeyIv, encryptedHash);
    if (signature) ecdsaVerifyDigest(requester.publicKey, requestHash, signature);
    const plaintext = aesGcmDecrypt(sessionKey, itemIv, ciphertext);
    sha256(plaintext);
    const outIv = randomBytes(12);
    const output = aesGcmEncrypt(sessionKey, outIv, plaintext);
    const outHash = sha256(plaintext).toString('hex');
    const responseHash = workOrderResponseHash({
      workerNonce: 'n',
      workOrderId: built.params.workOrderId,
      workerId: built.params.workerId,
      workloadId: built.params.workloadId,
      requesterId: built.params.requesterId,
      outData: [{ index: 0, dataHash: outHash, data: output.toString('base64'), encryptedDataEncryptionKey: '', iv: outIv.toString('hex') }],
    });
    ecdsaSignDigest(worker.privateKey, responseHash);
  };
}

/** Runs the prepared work for `durationMs` and answers work orders per second. */
function rate(once: () => void, durationMs: number): number {
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    once();
    count += 1;
  }
  return count / ((performance.now() - started) / 1000);
}

/**
 * One work order's crypto timed alone, `count` times, with a millisecond's pause before each as a
 * synchronous requester leaves between its work orders: p50 and p99 in ms.
 */
export async function measureCryptoLatency(task: CryptoBoundCase, count: number): Promise<{ p50Ms: number; p99Ms: number }> {
  const once = prepare(task);
  for (let warm = 0; warm < 20; warm += 1) once();
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const started = performance.now();
    once();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99) };
}

interface ThreadSetup {
  cases: CryptoBoundCase[];
}

/**
 * One thread per core, each holding its prepared work for every case (key generation and loading take
 * seconds, so a run that samples the bound many times pays for them once).
 */
export class CryptoBound {
  private constructor(
    private readonly threads: { worker: Worker; waiting: { resolve: (rate: number) => void; reject: (error: Error) => void } | undefined }[],
    private readonly cases: readonly CryptoBoundCase[],
  ) {}

  static async start(cases: CryptoBoundCase[], threads = os.availableParallelism()): Promise<CryptoBound> {
    // Worker threads do not inherit tsx's loader, so each registers it before importing this file.
    const entry = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const started = await Promise.all(
      Array.from({ length: threads }, () =>
        new Promise<Worker>((resolve, reject) => {
          const worker = new Worker(entry, { eval: true, workerData: { cases } satisfies ThreadSetup });
          worker.once('message', () => resolve(worker));
          worker.once('error', reject);
        }),
      ),
    );
    const bound = new CryptoBound(started.map((worker) => ({ worker, waiting: undefined })), cases);
    for (const thread of bound.threads) {
      thread.worker.on('message', (rate: number) => thread.waiting?.resolve(rate));
      thread.worker.on('error', (error) => thread.waiting?.reject(error));
    }
    return bound;
  }

  /** Work orders per second on all the threads at once, for a case given at start, over `durationMs`. */
  async measure(task: CryptoBoundCase, durationMs: number): Promise<number> {
    const index = this.cases.findIndex((known) => known.inputBytes === task.inputBytes && known.signed === task.signed && known.rsaBits === task.rsaBits);
    if (index < 0) throw new Error('this case was not prepared at start');
    const rates = await Promise.all(
      this.threads.map((thread) => new Promise<number>((resolve, reject) => {
        thread.waiting = { resolve, reject };
        thread.worker.postMessage({ index, durationMs });
      })),
    );
    return rates.reduce((sum, one) => sum + one, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const prepared = (workerData as ThreadSetup).cases.map((task) => {
    const once = prepare(task);
    for (let warm = 0; warm < 20; warm += 1) once();
    return once;
  });
  port.on('message', ({ index, durationMs }: { index: number; durationMs: number }) => port.postMessage(rate(prepared[index]!, durationMs)));
  port.postMessage('ready');
}
