/**
 * The worker's half of a work order: check that the request is for this worker and untampered,
 * check the requester's signature under the worker's policy, unwrap the session key and decrypt the
 * inputs; then encrypt the outputs and sign the response. Pure: the caller owns keys and storage.
 * Every refusal is a TcfError with the spec's code and a message naming the field.
 */
import { base64ToBytes, bytesToBase64, bytesToHex, hexToBytes } from '../crypto/encoding.js';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  CryptoError,
  ecdsaSignDigest,
  ecdsaVerifyDigest,
  GCM_IV_BYTES,
  randomBytes,
  rsaOaepUnwrap,
  SESSION_KEY_BYTES,
  type HashingAlgorithm,
} from '../crypto/primitives.js';
import { requesterIdForKey, verifyingKeyFromPem, type EncryptionKeyPair, type SigningKeyPair } from '../crypto/keys.js';
import { ErrorCode, TcfError, invalidParameter } from '../protocol/errors.js';
import { workOrderRequestHash, workOrderResponseHash } from '../protocol/hashing.js';
import { canonicalId, sameId } from '../protocol/ids.js';
import type { DataItem, WorkOrderRequest, WorkOrderResult } from '../protocol/messages.js';
import { itemIv, itemKeyMode, plaintextHash, type IvMode } from './items.js';

export interface WorkerSecrets {
  workerId: string;
  signingKey: SigningKeyPair;
  encryptionKey: EncryptionKeyPair;
  hashingAlgorithm: HashingAlgorithm;
}

export interface WorkerPolicy {
  /** 'per-item' refuses session-encrypted items without their own IV; 'avalon' accepts and answers them Avalon-style. */
  ivMode: IvMode;
  /** Whether an unsigned work order is refused. */
  requireRequesterSignature: boolean;
  /** 'bound': a signed request's requesterId must be requesterIdForKey(verifyingKey). 'unbound': Avalon's behaviour. */
  requesterKeyBinding: 'bound' | 'unbound';
}

export const DEFAULT_WORKER_POLICY: WorkerPolicy = {
  ivMode: 'per-item',
  requireRequesterSignature: false,
  requesterKeyBinding: 'bound',
};

export interface WorkOrderInput {
  index: number;
  data: Buffer;
}

type OutputKey = { kind: 'plain' } | { kind: 'session' } | { kind: 'item-key'; key: Buffer; wrapped: string };

export interface OpenedWorkOrder {
  request: WorkOrderRequest;
  inputs: WorkOrderInput[];
  requestHash: Buffer;
  sessionKey: Buffer;
  sessionKeyIv: Buffer;
  /** True when the request used sessionKeyIv for its items: its answer must do the same. */
  avalonStyle: boolean;
  outputKeys: Map<number, OutputKey>;
}

export function openWorkOrder(request: WorkOrderRequest, worker: WorkerSecrets, policy: WorkerPolicy = DEFAULT_WORKER_POLICY): OpenedWorkOrder {
  if (!sameId(request.workerId, worker.workerId)) {
    throw invalidParameter('params.workerId', `work order is addressed to worker ${request.workerId}, not to this worker`);
  }
  if (request.dataEncryptionAlgorithm !== undefined && request.dataEncryptionAlgorithm.toUpperCase() !== 'AES-GCM-256') {
    throw invalidParameter('params.dataEncryptionAlgorithm', 'only AES-GCM-256 is supported');
  }
  const inputBytes = decodeItems(request);
  if (!request.sessionKeyIv) throw invalidParameter('params.sessionKeyIv', 'is required');
  const sessionKeyIv = hexToBytes(request.sessionKeyIv);
  if (sessionKeyIv.length !== GCM_IV_BYTES) throw invalidParameter('params.sessionKeyIv', `must be ${GCM_IV_BYTES} bytes`);

  const sessionKey = unwrapKey(worker, request.encryptedSessionKey, 'params.encryptedSessionKey');
  const requestHash = workOrderRequestHash(request, worker.hashingAlgorithm);
  let claimedHash: Buffer;
  try {
    claimedHash = aesGcmDecrypt(sessionKey, sessionKeyIv, hexToBytes(request.encryptedRequestHash));
  } catch {
    throw invalidParameter('params.encryptedRequestHash', 'cannot be decrypted with the session key: the request was tampered with');
  }
  if (!claimedHash.equals(requestHash)) {
    throw invalidParameter('params.encryptedRequestHash', 'does not match the hash of the request: the request was tampered with');
  }
  checkRequesterSignature(request, () => requestHash, policy);

  const avalonStyle = usesSessionIvForItems(request);
  if (avalonStyle && policy.ivMode === 'per-item') {
    throw invalidParameter(
      'params.inData',
      'items encrypted under the session key must carry their own iv (this worker does not reuse sessionKeyIv; an operator can allow Avalon clients with ivMode "avalon")',
    );
  }
  if (policy.ivMode === 'per-item') checkFreshIvs(request);

  const inputs = request.inData.map((item, position) => ({
    index: item.index,
    data: decryptInput(item, inputBytes[position]!, `params.inData[${position}]`, sessionKey, sessionKeyIv, worker),
  }));
  const outputKeys = new Map<number, OutputKey>();
  (request.outData ?? []).forEach((item, position) => {
    const mode = itemKeyMode(item.encryptedDataEncryptionKey);
    if (mode.kind === 'item-key') {
      const wrapped = item.encryptedDataEncryptionKey as string;
      outputKeys.set(item.index, { kind: 'item-key', wrapped, key: unwrapKey(worker, wrapped, `params.outData[${position}].encryptedDataEncryptionKey`) });
    } else {
      outputKeys.set(item.index, mode);
    }
  });
  return { request, inputs, requestHash, sessionKey, sessionKeyIv, avalonStyle, outputKeys };
}

/**
 * The schema admits any string as an item's data and odd-length hex as its key; both would otherwise
 * surface later as an EncodingError instead of INVALID_PARAMETER naming the field. Checked before any
 * key is unwrapped; the decoded input bytes are returned, so each item is decoded once.
 */
function decodeItems(request: WorkOrderRequest): Buffer[] {
  const checkKey = (value: string | null | undefined, field: string): void => {
    try {
      itemKeyMode(value);
    } catch {
      throw invalidParameter(field, 'must be "-", "", "null" or even-length hex');
    }
  };
  const inputBytes = request.inData.map((item, position) => {
    let bytes: Buffer;
    try {
      bytes = base64ToBytes(item.data);
    } catch {
      throw invalidParameter(`params.inData[${position}].data`, 'must be padded standard base64');
    }
    checkKey(item.encryptedDataEncryptionKey, `params.inData[${position}].encryptedDataEncryptionKey`);
    return bytes;
  });
  (request.outData ?? []).forEach((item, position) => checkKey(item.encryptedDataEncryptionKey, `params.outData[${position}].encryptedDataEncryptionKey`));
  return inputBytes;
}

function unwrapKey(worker: WorkerSecrets, wrappedHex: string, field: string): Buffer {
  let key: Buffer;
  try {
    key = rsaOaepUnwrap(worker.encryptionKey.privateKey, hexToBytes(wrappedHex));
  } catch {
    throw invalidParameter(field, "cannot be unwrapped with this worker's encryption key");
  }
  if (key.length !== SESSION_KEY_BYTES) throw invalidParameter(field, `must wrap a ${SESSION_KEY_BYTES}-byte AES key`);
  return key;
}

/**
 * The requester-signature rules, shared by the worker and the listener (which can check them from
 * public fields before anything is stored): the signature must verify over the request hash, be present
 * when the policy demands it, and (bound policy) come from the key requesterId names. The hash is asked
 * for only when there is a signature to check: over a large input it is not free.
 */
export function checkRequesterSignature(
  request: WorkOrderRequest,
  requestHash: () => Buffer,
  policy: Pick<WorkerPolicy, 'requireRequesterSignature' | 'requesterKeyBinding'>,
): void {
  if (!request.requesterSignature) {
    if (policy.requireRequesterSignature) {
      throw new TcfError(ErrorCode.INVALID_SIGNATURE, 'params.requesterSignature: this worker accepts only signed work orders');
    }
    return;
  }
  if (!request.verifyingKey) throw invalidParameter('params.verifyingKey', 'is required with requesterSignature');
  let publicKey: Uint8Array;
  try {
    publicKey = verifyingKeyFromPem(request.verifyingKey);
  } catch (error) {
    throw invalidParameter('params.verifyingKey', (error as CryptoError).message);
  }
  if (!ecdsaVerifyDigest(publicKey, requestHash(), base64ToBytes(request.requesterSignature))) {
    throw new TcfError(ErrorCode.INVALID_SIGNATURE, 'params.requesterSignature: does not verify with verifyingKey over the request hash');
  }
  if (policy.requesterKeyBinding === 'bound' && !sameId(request.requesterId, requesterIdForKey(publicKey))) {
    throw new TcfError(
      ErrorCode.INVALID_SIGNATURE,
      'params.requesterId: must be the SHA-256 of verifyingKey (SPKI DER) for a signed work order, so that the key is bound to the requester',
    );
  }
}

function usesSessionIvForItems(request: WorkOrderRequest): boolean {
  return request.inData.some((item) => itemKeyMode(item.encryptedDataEncryptionKey).kind === 'session' && itemIv(item.iv) === undefined);
}

/** Under one key a GCM IV must never repeat: not between items, nor with sessionKeyIv. */
function checkFreshIvs(request: WorkOrderRequest): void {
  const seen = new Set<string>([canonicalId(request.sessionKeyIv ?? '')]);
  request.inData.forEach((item, position) => {
    if (itemKeyMode(item.encryptedDataEncryptionKey).kind !== 'session') return;
    const iv = canonicalId(item.iv ?? '');
    if (seen.has(iv)) throw invalidParameter(`params.inData[${position}].iv`, 'repeats an IV already used under the session key');
    seen.add(iv);
  });
}

function decryptInput(item: DataItem, data: Buffer, path: string, sessionKey: Buffer, sessionKeyIv: Buffer, worker: WorkerSecrets): Buffer {
  const mode = itemKeyMode(item.encryptedDataEncryptionKey);
  let plaintext: Buffer;
  if (mode.kind === 'plain') {
    plaintext = data;
  } else {
    const key = mode.kind === 'session' ? sessionKey : unwrapKey(worker, item.encryptedDataEncryptionKey as string, `${path}.encryptedDataEncryptionKey`);
    const iv = itemIv(item.iv);
    if (mode.kind === 'item-key' && iv === undefined) throw invalidParameter(`${path}.iv`, 'is required for an item with its own key');
    if (iv !== undefined && iv.length !== GCM_IV_BYTES) throw invalidParameter(`${path}.iv`, `must be ${GCM_IV_BYTES} bytes`);
    try {
      plaintext = aesGcmDecrypt(key, iv ?? sessionKeyIv, data);
    } catch {
      throw invalidParameter(`${path}.data`, 'cannot be decrypted: wrong key or IV, or tampered ciphertext');
    }
  }
  if (item.dataHash && !sameId(item.dataHash, plaintextHash(plaintext, worker.hashingAlgorithm))) {
    throw invalidParameter(`${path}.dataHash`, 'does not match the hash of the decrypted data');
  }
  return plaintext;
}

export interface WorkOrderOutput {
  index: number;
  data: Uint8Array;
}

/** A sealed result with the response hash its signature covers, which the worker's receipt update commits to as well. */
export interface SealedResult {
  result: WorkOrderResult;
  responseHash: Buffer;
}

/** Encrypts each output as the request asked (per index) and signs the response hash. */
export function sealWorkOrderResult(opened: OpenedWorkOrder, outputs: readonly WorkOrderOutput[], worker: WorkerSecrets): SealedResult {
  const { request } = opened;
  const outData: DataItem[] = outputs.map((output) => {
    const plaintext = Buffer.from(output.data);
    const keySpec = opened.outputKeys.get(output.index) ?? { kind: 'session' };
    const item: DataItem = { index: output.index, dataHash: plaintextHash(plaintext, worker.hashingAlgorithm), data: '', encryptedDataEncryptionKey: '', iv: '' };
    if (keySpec.kind === 'plain') {
      item.encryptedDataEncryptionKey = '-';
      item.data = bytesToBase64(plaintext);
      return item;
    }
    const key = keySpec.kind === 'session' ? opened.sessionKey : keySpec.key;
    if (keySpec.kind === 'item-key') item.encryptedDataEncryptionKey = keySpec.wrapped;
    const reuseSessionIv = opened.avalonStyle && keySpec.kind === 'session';
    const iv = reuseSessionIv ? opened.sessionKeyIv : randomBytes(GCM_IV_BYTES);
    if (!reuseSessionIv) item.iv = bytesToHex(iv);
    item.data = bytesToBase64(aesGcmEncrypt(key, iv, plaintext));
    return item;
  });
  const unsigned = {
    workOrderId: request.workOrderId,
    workloadId: request.workloadId,
    workerId: request.workerId,
    requesterId: request.requesterId,
    workerNonce: bytesToBase64(randomBytes(32)),
    outData,
  };
  const responseHash = workOrderResponseHash(unsigned, worker.hashingAlgorithm);
  const signature = ecdsaSignDigest(worker.signingKey.privateKey, responseHash);
  return { result: { ...unsigned, workerSignature: bytesToBase64(signature) }, responseHash };
}
