/**
 * Deciding whether to trust a worker: its evidence must pass a verifier under the policy, and its
 * encryption key must be signed by the attested verification key. Only then are its keys handed to
 * the requester code.
 */
import { hexToBytes, isHex } from '../crypto/encoding.js';
import { verifyingKeyFromPem } from '../crypto/keys.js';
import { ecdsaVerifyDigest, type HashingAlgorithm } from '../crypto/primitives.js';
import { encryptionKeyAnnouncementHash, encryptionKeyHash } from '../protocol/hashing.js';
import type { WorkerDetails, WorkerRecord } from '../protocol/messages.js';
import type { WorkerPublicKeys } from '../workorder/requester.js';
import type { AttestationVerifier, TrustPolicy, VerifiedEvidence } from './evidence.js';
import { SimulatedTeeVerifier } from './simulated.js';

export class UntrustedWorkerError extends Error {
  override readonly name = 'UntrustedWorkerError';
}

export const DEFAULT_VERIFIERS: readonly AttestationVerifier[] = [new SimulatedTeeVerifier()];

/**
 * encryptionKeySignature covers H(encryption key PEM) as Avalon signs it, or, once a key has been
 * rotated with a nonce, the EncryptionKeySet announcement H(workerId‖key‖nonce‖tag).
 */
export function encryptionKeySigned(workerId: string, details: WorkerDetails): boolean {
  const data = details.workerTypeData;
  const algorithm = details.hashingAlgorithm as HashingAlgorithm;
  if (!isHex(data.encryptionKeySignature)) return false;
  const digest = data.encryptionKeyNonce
    ? encryptionKeyAnnouncementHash(
        { workerId, encryptionKey: data.encryptionKey, encryptionKeyNonce: data.encryptionKeyNonce, tag: data.encryptionKeyTag ?? '' },
        algorithm,
      )
    : encryptionKeyHash(data.encryptionKey, algorithm);
  try {
    return ecdsaVerifyDigest(verifyingKeyFromPem(data.verificationKey), digest, hexToBytes(data.encryptionKeySignature));
  } catch {
    return false;
  }
}

export interface TrustedWorker {
  keys: WorkerPublicKeys;
  evidence: VerifiedEvidence;
}

export function trustWorker(
  worker: WorkerRecord,
  policy: TrustPolicy,
  verifiers: readonly AttestationVerifier[] = DEFAULT_VERIFIERS,
): TrustedWorker {
  const details = worker.details;
  const proofType = details.workerTypeData.proofDataType ?? '';
  const verifier = verifiers.find((candidate) => candidate.proofDataType === proofType);
  if (!verifier) throw new UntrustedWorkerError(`worker ${worker.workerId}: no verifier for evidence type "${proofType}"`);
  const verdict = verifier.verify(details, policy);
  if (!verdict.trusted) throw new UntrustedWorkerError(`worker ${worker.workerId}: ${verdict.reason}`);
  if (!encryptionKeySigned(worker.workerId, details)) {
    throw new UntrustedWorkerError(`worker ${worker.workerId}: encryption key is not signed by the attested verification key`);
  }
  if (details.hashingAlgorithm !== 'SHA-256' && details.hashingAlgorithm !== 'SHA3-256') {
    throw new UntrustedWorkerError(`worker ${worker.workerId}: unsupported hashing algorithm ${details.hashingAlgorithm}`);
  }
  return {
    keys: {
      workerId: worker.workerId,
      encryptionKeyPem: details.workerTypeData.encryptionKey,
      verificationKeyPem: details.workerTypeData.verificationKey,
      hashingAlgorithm: details.hashingAlgorithm,
    },
    evidence: verdict.evidence,
  };
}
