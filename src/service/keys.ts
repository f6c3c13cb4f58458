/**
 * The Encryption Key API: EncryptionKeyGet answers a worker's current key with its signed
 * announcement; EncryptionKeySet installs a new key only when the worker's registered (attested)
 * verification key signed it. The node's own key rotation goes through the same check.
 */
import { base64ToBytes, bytesToBase64, hexToBytes } from '../crypto/encoding.js';
import { verifyingKeyFromPem } from '../crypto/keys.js';
import { ecdsaVerifyDigest, type HashingAlgorithm } from '../crypto/primitives.js';
import { ErrorCode, TcfError, invalidParameter } from '../protocol/errors.js';
import { encryptionKeyAnnouncementHash } from '../protocol/hashing.js';
import { canonicalId } from '../protocol/ids.js';
import type { EncryptionKeyGetResult, EncryptionKeySet, MethodParams } from '../protocol/messages.js';
import type { Store } from '../store/store.js';

async function requireWorker(store: Store, workerId: string) {
  const worker = await store.getWorker(canonicalId(workerId));
  if (!worker) throw invalidParameter('params.workerId', `worker ${workerId} does not exist`);
  return worker;
}

export async function encryptionKeyGet(store: Store, params: MethodParams<'EncryptionKeyGet'>): Promise<EncryptionKeyGetResult> {
  const worker = await requireWorker(store, params.workerId);
  const data = worker.details.workerTypeData;
  return {
    workerId: worker.workerId,
    encryptionKey: data.encryptionKey,
    encryptionKeyNonce: data.encryptionKeyNonce ?? '',
    tag: data.encryptionKeyTag ?? '',
    // Base64 like every other signature of the API; the details carry the same signature in hex (Avalon's form).
    signature: bytesToBase64(hexToBytes(data.encryptionKeySignature)),
  };
}

/**
 * `evidence` is the worker's fresh evidence for the new key, when the caller has it (a rotation this node
 * made): evidence binds the encryption key, so without it requesters refuse the worker until it
 * registers again.
 */
export async function applyEncryptionKeySet(store: Store, params: EncryptionKeySet, evidence?: { proofDataType: string; proofData: string }): Promise<void> {
  const worker = await requireWorker(store, params.workerId);
  const data = worker.details.workerTypeData;
  if (params.encryptionKeyNonce === data.encryptionKeyNonce) {
    throw invalidParameter('params.encryptionKeyNonce', 'was already used for this worker; every key announcement needs a fresh nonce');
  }
  const digest = encryptionKeyAnnouncementHash(
    { workerId: worker.workerId, encryptionKey: params.encryptionKey, encryptionKeyNonce: params.encryptionKeyNonce, tag: params.tag },
    worker.details.hashingAlgorithm as HashingAlgorithm,
  );
  if (!ecdsaVerifyDigest(verifyingKeyFromPem(data.verificationKey), digest, base64ToBytes(params.signature))) {
    throw new TcfError(ErrorCode.INVALID_SIGNATURE, "params.signature: not signed by the worker's registered verification key");
  }
  const workerTypeData = {
    ...data,
    encryptionKey: params.encryptionKey,
    encryptionKeyNonce: params.encryptionKeyNonce,
    encryptionKeyTag: params.tag,
    encryptionKeySignature: base64ToBytes(params.signature).toString('hex'),
    ...evidence,
  };
  await store.updateWorker(worker.workerId, { details: { ...worker.details, workerTypeData } });
}
