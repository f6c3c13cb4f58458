/**
 * Shared set-up for the core tests: worker identities and a tiny echo workload that runs between
 * openWorkOrder and sealWorkOrderResult. Keys are 2048-bit so that each test file, which generates its
 * own, starts quickly; nothing in the protocol depends on the RSA size.
 */
import {
  bytesToHex,
  generateEncryptionKey,
  generateSigningKey,
  openWorkOrder,
  randomBytes,
  sealWorkOrderResult,
  sha256,
  utf8,
  type HashingAlgorithm,
  type OpenedWorkOrder,
  type WorkerPolicy,
  type WorkerPublicKeys,
  type WorkerSecrets,
  type WorkOrderRequest,
  type WorkOrderResult,
} from '../../src/index.js';

export const TEST_RSA_BITS = 2048;

export interface TestWorker {
  secrets: WorkerSecrets;
  keys: WorkerPublicKeys;
}

export function makeWorker(options: { hashingAlgorithm?: HashingAlgorithm; workerId?: string } = {}): TestWorker {
  const hashingAlgorithm = options.hashingAlgorithm ?? 'SHA-256';
  const signingKey = generateSigningKey();
  const encryptionKey = generateEncryptionKey(TEST_RSA_BITS);
  // Avalon names workers by the SHA-256 of a name; any hex id would do.
  const workerId = options.workerId ?? sha256(randomBytes(8)).toString('hex');
  return {
    secrets: { workerId, signingKey, encryptionKey, hashingAlgorithm },
    keys: { workerId, encryptionKeyPem: encryptionKey.publicKeyPem, verificationKeyPem: signingKey.publicKeyPem, hashingAlgorithm },
  };
}

/** The "workload": upper-cases each input, answering at the input's own index. */
export function echoUpper(opened: OpenedWorkOrder): { index: number; data: Buffer }[] {
  return opened.inputs.map((input) => ({ index: input.index, data: utf8(input.data.toString('utf8').toUpperCase()) }));
}

export interface WorkerRun {
  opened: OpenedWorkOrder;
  result: WorkOrderResult;
}

/** What a worker node does with a validated request: open, run the echo workload, seal. */
export function runWorker(request: WorkOrderRequest, worker: TestWorker, policy?: WorkerPolicy): WorkerRun {
  const opened = openWorkOrder(request, worker.secrets, policy);
  return { opened, result: sealWorkOrderResult(opened, echoUpper(opened), worker.secrets).result };
}

/** A JSON round trip, as the wire does it: tests mutate copies, never the built originals. */
export function wireCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Flips the lowest bit of one byte of a base64 string (the middle byte unless told). */
export function flipBase64Byte(text: string, at?: number): string {
  const bytes = Buffer.from(text, 'base64');
  const position = at ?? Math.floor(bytes.length / 2);
  bytes[position] = (bytes[position] as number) ^ 1;
  return bytes.toString('base64');
}

/** Flips the lowest bit of one byte of a hex string (the middle byte unless told). */
export function flipHexByte(text: string, at?: number): string {
  const bytes = Buffer.from(text, 'hex');
  const position = at ?? Math.floor(bytes.length / 2);
  bytes[position] = (bytes[position] as number) ^ 1;
  return bytesToHex(bytes);
}
