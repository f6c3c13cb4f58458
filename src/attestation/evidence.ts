/**
 * Attestation evidence as it travels in a worker's details (`workerTypeData.proofDataType` and
 * `proofData`), and the verifier boundary: evidence is judged against a TrustPolicy before a requester
 * encrypts anything for the worker.
 */
import type { WorkerDetails } from '../protocol/messages.js';

export interface TrustPolicy {
  /** Accept evidence from the simulated TEE. Never true where real isolation is required. */
  allowSimulated: boolean;
  /** When non-empty, the worker's measurement must be one of these (hex). */
  allowedMeasurements?: readonly string[];
}

/** A policy that demands hardware: the simulated TEE never passes it. */
export const HARDWARE_ONLY_POLICY: TrustPolicy = { allowSimulated: false };
/** For development and tests only. */
export const DEVELOPMENT_POLICY: TrustPolicy = { allowSimulated: true };

export interface VerifiedEvidence {
  proofDataType: string;
  simulated: boolean;
  measurement: string;
}

export type EvidenceVerdict = { trusted: true; evidence: VerifiedEvidence } | { trusted: false; reason: string };

/** Judges one kind of evidence (proofDataType). Implementations: simulated TEE; hardware verifiers plug in here. */
export interface AttestationVerifier {
  readonly proofDataType: string;
  verify(details: WorkerDetails, policy: TrustPolicy): EvidenceVerdict;
}
