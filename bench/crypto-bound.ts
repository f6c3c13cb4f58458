/**
 * The crypto-only bound: the work a worker cannot avoid for one work order (RSA-OAEP unwrap of the
 * session key, AES-GCM decrypt of the request hash and the input and encrypt of the output, the
 * SHA-256 hashes, one secp256k1 signature, and one requester-signature verification when signed),
 * done in a tight loop on every core with worker threads. End-to-end figures are reported as a
 * fraction of this.
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

export interface CryptoBoundCase {
  inputBytes: number;
  signed: boolean;
  rsaBits: number;
}

interface ThreadTask extends CryptoBoundCase {
  durationMs: number;
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

function runThread(task: ThreadTask): number {
  const once = prepare(task);
  for (let warm = 0; warm < 20; warm += 1) once();
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < task.durationMs) {
    once();
    count += 1;
  }
  return count / ((performance.now() - started) / 1000);
}

/** Work orders per second on `threads` cores (default: all). */
export async function measureCryptoBound(bound: CryptoBoundCase, durationMs: number, threads = os.availableParallelism()): Promise<number> {
  const rates = await Promise.all(
    Array.from({ length: threads }, () =>
      new Promise<number>((resolve, reject) => {
        // Worker threads do not inherit tsx's loader, so the thread registers it before importing this file.
        const entry = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
        const worker = new Worker(entry, { eval: true, workerData: { ...bound, durationMs } });
        worker.once('message', (rate: number) => resolve(rate));
        worker.once('error', reject);
      }),
    ),
  );
  return rates.reduce((sum, rate) => sum + rate, 0);
}

if (!isMainThread && parentPort) parentPort.postMessage(runThread(workerData as ThreadTask));
