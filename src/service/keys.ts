/**
 * The Encryption Key API: EncryptionKeyGet answers a worker's current key with its signed
 * announcement; EncryptionKeySet installs a new key only when the worker's registered (attested)
 * verification key signed it and the announcement is newer than every one before it. The node's own
 * key rotation goes through the same checks.
 *
 * "Newer": an announcement is public (EncryptionKeyGet serves it), so a signature alone proves nothing
 * about when it was made. The store keeps every nonce and every key the worker ever announced, and a
 * key is installed only under a nonce never used for this worker and only if the worker never published
 * that key before: an old announcement replayed later, with its own nonce or inside a fresh one, cannot
 * bring a retired key back.
 */
import crypto from 'node:crypto';
import { base64ToBytes, bytesToBase64, hexToBytes } from '../crypto/encoding.js';
import { verifyingKeyFromPem } from '../crypto/keys.js';
import { ecdsaVerifyDigest, type HashingAlgorithm } from '../crypto/primitives.js';
import { ErrorCode, TcfError, invalidParameter } from '../protocol/errors.js';
import { encryptionKeyAnnouncementHash } from '../protocol/hashing.js';
import { canonicalId } from '../protocol/ids.js';
import type { EncryptionKeyGetResult, EncryptionKeySet, MethodParams } from '../protocol/messages.js';
import type { Store } from '../store/store.js';

/** A concurrent key change makes the store refuse ('changed'); this many fresh reads before giving up. */
const ANNOUNCE_ATTEMPTS = 3;

async function requireWorker(store: Store, workerId: string) {
  const worker = await store.getWorker(canonicalId(workerId));
  if (!worker) throw invalidParameter('params.workerId', `worker ${workerId} does not exist`);
  return worker;
}

/** SHA-256 of the key's SPKI DER: the same key in PEM text wrapped or spelled differently is still the same key. */
function keyFingerprint(pem: string, field: string): string {
  let der: Buffer;
  try {
    der = crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' });
  } catch (error) {
    throw invalidParameter(field, `is not a public key in PEM (${(error as Error).message})`);
  }
  return crypto.createHash('sha256').update(der).digest('hex');
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
  const fresh = { nonce: params.encryptionKeyNonce, keyFingerprint: keyFingerprint(params.encryptionKey, 'params.encryptionKey') };
  for (let attempt = 1; ; attempt += 1) {
    const worker = await requireWorker(store, params.workerId);
    const data = worker.details.workerTypeData;
    const digest = encryptionKeyAnnouncementHash(
      { workerId: worker.workerId, encryptionKey: params.encryptionKey, encryptionKeyNonce: params.encryptionKeyNonce, tag: params.tag },
      worker.details.hashingAlgorithm as HashingAlgorithm,
    );
    if (!ecdsaVerifyDigest(verifyingKeyFromPem(data.verificationKey), digest, base64ToBytes(params.signature))) {
      throw new TcfError(ErrorCode.INVALID_SIGNATURE, "params.signature: not signed by the worker's registered verification key");
    }
    const retired = { nonce: data.encryptionKeyNonce, keyFingerprint: keyFingerprint(data.encryptionKey, 'the worker record') };
    if (params.encryptionKeyNonce === retired.nonce) throw nonceUsed();
    if (fresh.keyFingerprint === retired.keyFingerprint) throw keyUsed();
    const workerTypeData = {
      ...data,
      encryptionKey: params.encryptionKey,
      encryptionKeyNonce: params.encryptionKeyNonce,
      encryptionKeyTag: params.tag,
      encryptionKeySignature: base64ToBytes(params.signature).toString('hex'),
      ...evidence,
    };
    const outcome = await store.announceEncryptionKey(worker.workerId, {
      expectedSignature: data.encryptionKeySignature,
      fresh,
      retired,
      details: { ...worker.details, workerTypeData },
    });
    if (outcome === 'applied') return;
    if (outcome === 'nonce-used') throw nonceUsed();
    if (outcome === 'key-used') throw keyUsed();
    if (outcome === 'no-worker') throw invalidParameter('params.workerId', `worker ${params.workerId} does not exist`);
    if (attempt >= ANNOUNCE_ATTEMPTS) throw new TcfError(ErrorCode.BUSY, "the worker's encryption key is being changed by another call; try again");
  }
}

function nonceUsed(): TcfError {
  return invalidParameter('params.encryptionKeyNonce', 'was already used for this worker; every key announcement needs a fresh nonce (a replayed announcement is refused)');
}

function keyUsed(): TcfError {
  return invalidParameter('params.encryptionKey', 'this worker published this key before; a key announcement must carry a key the worker never used (a retired key cannot come back)');
}
