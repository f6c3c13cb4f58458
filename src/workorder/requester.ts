/**
 * The requester's half of a work order: encrypt inputs end to end for one worker's published keys,
 * bind them with the request hash, optionally sign; then verify the worker's signed response and
 * decrypt its outputs. Pure: no network, no storage.
 */
import { base64ToBytes, bytesToBase64, bytesToHex, utf8 } from '../crypto/encoding.js';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  CryptoError,
  ecdsaSignDigest,
  ecdsaVerifyDigest,
  GCM_IV_BYTES,
  randomBytes,
  rsaOaepWrap,
  SESSION_KEY_BYTES,
  type HashingAlgorithm,
} from '../crypto/primitives.js';
import { encryptionPublicKeyFromPem, requesterIdForKey, verifyingKeyFromPem, type SigningKeyPair } from '../crypto/keys.js';
import { workOrderRequestHash, workOrderResponseHash } from '../protocol/hashing.js';
import { WorkOrderResult, type DataItem, type OutDataItem, type WorkOrderRequest } from '../protocol/messages.js';
import { validate } from '../protocol/schema.js';
import { sameId } from '../protocol/ids.js';
import { itemIv, itemKeyMode, plaintextHash, type IvMode } from './items.js';

/** What a requester needs of a worker: its id and the two public keys from its (verified) details. */
export interface WorkerPublicKeys {
  workerId: string;
  encryptionKeyPem: string;
  verificationKeyPem: string;
  hashingAlgorithm?: HashingAlgorithm;
}

/** 'session': under the session key; 'plain': not encrypted ("-"); 'item-key': a fresh key of its own, wrapped for the worker. */
export type ItemEncryption = 'session' | 'plain' | 'item-key';

export interface InputItem {
  data: Uint8Array | string;
  index?: number;
  encryption?: ItemEncryption;
  /** Send hex SHA-256 of the plaintext so the worker checks it (default true). */
  includeDataHash?: boolean;
}

export interface OutputRequest {
  index: number;
  encryption?: ItemEncryption;
}

export interface BuildWorkOrderOptions {
  worker: WorkerPublicKeys;
  /** Hex workload id, e.g. textToHex('echo-result'). */
  workloadId: string;
  inData: readonly InputItem[];
  outData?: readonly OutputRequest[];
  /** Defaults to requesterIdForKey(signer.publicKey) when signing, else 32 random bytes. */
  requesterId?: string;
  signer?: SigningKeyPair;
  workOrderId?: string;
  requesterNonce?: string;
  responseTimeoutMSecs?: number;
  resultUri?: string;
  notifyUri?: string;
  ivMode?: IvMode;
}

/** What only the requester knows, needed to open the result. Never sent. */
export interface WorkOrderSecrets {
  sessionKey: Buffer;
  sessionKeyIv: Buffer;
  requestHash: Buffer;
  /** Per-item keys the requester chose for outData indexes. */
  outputKeys: Map<number, Buffer>;
}

export interface BuiltWorkOrder {
  params: WorkOrderRequest;
  secrets: WorkOrderSecrets;
}

export function buildWorkOrder(options: BuildWorkOrderOptions): BuiltWorkOrder {
  const algorithm = options.worker.hashingAlgorithm ?? 'SHA-256';
  const ivMode = options.ivMode ?? 'per-item';
  const workerRsa = encryptionPublicKeyFromPem(options.worker.encryptionKeyPem);
  const sessionKey = randomBytes(SESSION_KEY_BYTES);
  const sessionKeyIv = randomBytes(GCM_IV_BYTES);

  const inData: DataItem[] = options.inData.map((input, position) => {
    const plaintext = typeof input.data === 'string' ? utf8(input.data) : Buffer.from(input.data);
    const encryption = input.encryption ?? 'session';
    const item: DataItem = { index: input.index ?? position, data: '' };
    if (input.includeDataHash ?? true) item.dataHash = plaintextHash(plaintext, algorithm);
    if (encryption === 'plain') {
      item.data = bytesToBase64(plaintext);
      item.encryptedDataEncryptionKey = '-';
      item.iv = '';
      return item;
    }
    let key = sessionKey;
    if (encryption === 'item-key') {
      key = randomBytes(SESSION_KEY_BYTES);
      item.encryptedDataEncryptionKey = bytesToHex(rsaOaepWrap(workerRsa, key));
    } else {
      item.encryptedDataEncryptionKey = '';
    }
    const iv = ivMode === 'avalon' && encryption === 'session' ? sessionKeyIv : randomBytes(GCM_IV_BYTES);
    item.iv = iv === sessionKeyIv ? '' : bytesToHex(iv);
    item.data = bytesToBase64(aesGcmEncrypt(key, iv, plaintext));
    return item;
  });

  const outputKeys = new Map<number, Buffer>();
  const outData: OutDataItem[] | undefined = options.outData?.map((output) => {
    const encryption = output.encryption ?? 'session';
    if (encryption === 'plain') return { index: output.index, data: '', encryptedDataEncryptionKey: '-' };
    if (encryption === 'session') return { index: output.index, data: '', encryptedDataEncryptionKey: '' };
    const key = randomBytes(SESSION_KEY_BYTES);
    outputKeys.set(output.index, key);
    return { index: output.index, data: '', encryptedDataEncryptionKey: bytesToHex(rsaOaepWrap(workerRsa, key)) };
  });

  const requesterId =
    options.requesterId ?? (options.signer ? requesterIdForKey(options.signer.publicKey) : bytesToHex(randomBytes(32)));
  const params: WorkOrderRequest = {
    responseTimeoutMSecs: options.responseTimeoutMSecs ?? 60_000,
    payloadFormat: 'JSON-RPC',
    workOrderId: options.workOrderId ?? bytesToHex(randomBytes(32)),
    workerId: options.worker.workerId,
    workloadId: options.workloadId,
    requesterId,
    dataEncryptionAlgorithm: 'AES-GCM-256',
    encryptedSessionKey: bytesToHex(rsaOaepWrap(workerRsa, sessionKey)),
    sessionKeyIv: bytesToHex(sessionKeyIv),
    requesterNonce: options.requesterNonce ?? bytesToHex(randomBytes(16)),
    encryptedRequestHash: '',
    inData,
  };
  if (outData) params.outData = outData;
  if (options.resultUri !== undefined) params.resultUri = options.resultUri;
  if (options.notifyUri !== undefined) params.notifyUri = options.notifyUri;

  const requestHash = workOrderRequestHash(params, algorithm);
  params.encryptedRequestHash = bytesToHex(aesGcmEncrypt(sessionKey, sessionKeyIv, requestHash));
  if (options.signer) {
    params.requesterSignature = bytesToBase64(ecdsaSignDigest(options.signer.privateKey, requestHash));
    params.verifyingKey = options.signer.publicKeyPem;
  }
  return { params, secrets: { sessionKey, sessionKeyIv, requestHash, outputKeys } };
}

export type ResultErrorKind =
  | 'malformed-response'
  | 'id-mismatch'
  | 'bad-signature'
  | 'wrong-key'
  | 'tampered-item'
  | 'hash-mismatch';

/** Why a response was refused; `kind` is stable for programs, the message is for people. */
export class WorkOrderResultError extends Error {
  override readonly name = 'WorkOrderResultError';
  constructor(
    readonly kind: ResultErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface OpenedOutput {
  index: number;
  data: Buffer;
}

export interface OpenedResult {
  result: WorkOrderResult;
  outData: OpenedOutput[];
}

/**
 * Verifies a worker's response to `built` and decrypts its outputs. The signature is checked before
 * any output is trusted; when it fails, the items are examined only to say more precisely what was
 * changed (an item that no longer decrypts, or whose dataHash no longer matches).
 */
export function openWorkOrderResult(response: unknown, built: BuiltWorkOrder, worker: WorkerPublicKeys): OpenedResult {
  const checked = validate(WorkOrderResult, response, 'result');
  if (!checked.ok) throw new WorkOrderResultError('malformed-response', checked.error.message);
  const result = checked.value;
  const request = built.params;
  for (const field of ['workOrderId', 'workerId', 'workloadId', 'requesterId'] as const) {
    if (!sameId(result[field], request[field])) {
      throw new WorkOrderResultError('id-mismatch', `result.${field}: ${result[field]} does not match the request's ${request[field]}`);
    }
  }
  const algorithm = worker.hashingAlgorithm ?? 'SHA-256';
  let verifyingKey: Uint8Array;
  try {
    verifyingKey = verifyingKeyFromPem(worker.verificationKeyPem);
  } catch (error) {
    throw new WorkOrderResultError('wrong-key', `worker verification key: ${(error as Error).message}`);
  }
  const signatureValid = ecdsaVerifyDigest(
    verifyingKey,
    workOrderResponseHash(result, algorithm),
    base64ToBytes(result.workerSignature),
  );
  const outputs = result.outData.map((item) => openOutput(item, built, algorithm));
  if (!signatureValid) {
    const broken = outputs.find((output) => !output.ok);
    if (broken && !broken.ok) throw new WorkOrderResultError(broken.kind === 'decrypt' ? 'tampered-item' : 'hash-mismatch', broken.message);
    throw new WorkOrderResultError('bad-signature', "result.workerSignature: does not verify with the worker's verification key");
  }
  const opened: OpenedOutput[] = [];
  for (const output of outputs) {
    if (!output.ok) {
      // Signed by the worker yet undecryptable: the worker used a key other than this request's.
      throw new WorkOrderResultError(output.kind === 'decrypt' ? 'wrong-key' : 'hash-mismatch', output.message);
    }
    opened.push({ index: output.index, data: output.data });
  }
  return { result, outData: opened };
}

type OutputAttempt =
  | { ok: true; index: number; data: Buffer }
  | { ok: false; kind: 'decrypt' | 'hash'; message: string };

function openOutput(item: DataItem, built: BuiltWorkOrder, algorithm: HashingAlgorithm): OutputAttempt {
  const path = `result.outData[index ${item.index}]`;
  let plaintext: Buffer;
  try {
    const mode = itemKeyMode(item.encryptedDataEncryptionKey);
    const data = base64ToBytes(item.data);
    if (mode.kind === 'plain') {
      plaintext = data;
    } else {
      const key = mode.kind === 'session' ? built.secrets.sessionKey : built.secrets.outputKeys.get(item.index);
      if (!key) return { ok: false, kind: 'decrypt', message: `${path}: encrypted with a per-item key this request did not ask for` };
      plaintext = aesGcmDecrypt(key, itemIv(item.iv) ?? built.secrets.sessionKeyIv, data);
    }
  } catch (error) {
    const reason = error instanceof CryptoError ? error.message : 'undecodable data';
    return { ok: false, kind: 'decrypt', message: `${path}: cannot be decrypted with this work order's key (${reason})` };
  }
  if (item.dataHash && !sameId(item.dataHash, plaintextHash(plaintext, algorithm))) {
    return { ok: false, kind: 'hash', message: `${path}.dataHash: does not match the decrypted data` };
  }
  return { ok: true, index: item.index, data: plaintext };
}
