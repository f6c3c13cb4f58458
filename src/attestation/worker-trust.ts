/**
 * Deciding whether to trust a worker, in one place for the SDK, the CLI and the connectors: its
 * evidence must be genuine (a verifier's Verdict), bind this worker's id and keys (attestation/binding.ts),
 * pass the requester's TrustPolicy, and the encryption key must be signed by the attested verification
 * key. Only then are its keys handed to requester code.
 */
import { hexToBytes, isHex } from '../crypto/encoding.js';
import { verifyingKeyFromPem } from '../crypto/keys.js';
import { ecdsaVerifyDigest, type HashingAlgorithm } from '../crypto/primitives.js';
import { encryptionKeyAnnouncementHash, encryptionKeyHash } from '../protocol/hashing.js';
import { WorkerStatus, workerStatusName } from '../protocol/errors.js';
import type { WorkerDetails, WorkerRecord } from '../protocol/messages.js';
import type { WorkerPublicKeys } from '../workorder/requester.js';
import { bindingMismatch } from './binding.js';
import type { AttestationVerifier, WorkerEvidence } from './evidence.js';
import { HardwareEvidenceVerifier } from './hardware-verifier.js';
import { policyRefusals, type TrustPolicy } from './policy.js';
import { SimulatedTeeVerifier } from './simulated.js';
import type { VendorRoots } from './verify.js';

export class UntrustedWorkerError extends Error {
  override readonly name = 'UntrustedWorkerError';
}

export const DEFAULT_VERIFIERS: readonly AttestationVerifier[] = [new SimulatedTeeVerifier(), new HardwareEvidenceVerifier()];

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

export interface TrustOptions {
  /** The time to judge at; the requester's clock when left out. */
  at?: Date;
  verifiers?: readonly AttestationVerifier[];
  /** Test roots instead of the vendors' (never set in production). */
  roots?: VendorRoots;
}

/** A worker's evidence as judged, whether or not it is trusted: what `tcf workers show` prints. */
export interface WorkerJudgement {
  trusted: boolean;
  /** Every reason it is not trusted (empty when trusted). */
  reasons: string[];
  evidence: WorkerEvidence | undefined;
}

export async function judgeWorker(worker: WorkerRecord, policy: TrustPolicy, options: TrustOptions = {}): Promise<WorkerJudgement> {
  const details = worker.details;
  const data = details.workerTypeData;
  const proofType = data.proofDataType ?? '';
  const verifier = (options.verifiers ?? DEFAULT_VERIFIERS).find((candidate) => candidate.handles(proofType));
  if (!verifier) return { trusted: false, reasons: [`no verifier for evidence type "${proofType}"`], evidence: undefined };
  const at = options.at ?? new Date();
  const evidence = await verifier.verify(details, { at, collateral: policy.collateral, ...(options.roots ? { roots: options.roots } : {}) });
  const { verdict } = evidence;
  const reasons = policyRefusals(verdict, policy, { at, producedAt: verdict.producedAt ?? evidence.issuedAt });
  if (verdict.verified) {
    const unbound = bindingMismatch(verdict.reportData, {
      workerId: worker.workerId,
      verificationKeyPem: data.verificationKey,
      encryptionKeyPem: data.encryptionKey,
      issuedAt: evidence.issuedAt,
    });
    if (unbound) reasons.push(unbound);
  }
  if (!encryptionKeySigned(worker.workerId, details)) reasons.push('the encryption key is not signed by the attested verification key');
  if (details.hashingAlgorithm !== 'SHA-256' && details.hashingAlgorithm !== 'SHA3-256') reasons.push(`unsupported hashing algorithm ${details.hashingAlgorithm}`);
  // Evidence stays valid after an operator retires a worker or declares it compromised; only its status says so.
  if (worker.status !== WorkerStatus.ACTIVE) reasons.push(`worker status is ${workerStatusName(worker.status)}, not active`);
  return { trusted: reasons.length === 0, reasons, evidence };
}

export interface TrustedEvidence {
  proofDataType: string;
  simulated: boolean;
  measurement: string;
  verdict: WorkerEvidence['verdict'];
  issuedAt: string;
}

export interface TrustedWorker {
  keys: WorkerPublicKeys;
  evidence: TrustedEvidence;
}

export async function trustWorker(worker: WorkerRecord, policy: TrustPolicy, options: TrustOptions = {}): Promise<TrustedWorker> {
  const judgement = await judgeWorker(worker, policy, options);
  if (!judgement.trusted || !judgement.evidence) throw new UntrustedWorkerError(`worker ${worker.workerId}: ${judgement.reasons.join('; ')}`);
  const { verdict, proofDataType, issuedAt } = judgement.evidence;
  const details = worker.details;
  return {
    keys: {
      workerId: worker.workerId,
      encryptionKeyPem: details.workerTypeData.encryptionKey,
      verificationKeyPem: details.workerTypeData.verificationKey,
      // judgeWorker refuses any other algorithm, so a trusted worker names one of the two.
      hashingAlgorithm: details.hashingAlgorithm as HashingAlgorithm,
    },
    evidence: { proofDataType, simulated: verdict.type === 'simulated', measurement: verdict.measurement, verdict, issuedAt },
  };
}
