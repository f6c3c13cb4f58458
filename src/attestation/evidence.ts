/**
 * The verifier boundary: how a requester turns a worker's published evidence (`workerTypeData`
 * `proofDataType` and `proofData`) into a Verdict plus the time the worker says it made the evidence,
 * which the binding covers. Two implementations: the simulated TEE's, and one for every kind of
 * hardware evidence (attestation/hardware-verifier.ts). Policies judge what they return, in one place.
 */
import type { WorkerDetails } from '../protocol/messages.js';
import type { CollateralPolicy } from './policy.js';
import type { Verdict } from './verdict.js';
import type { VendorRoots } from './verify.js';

export interface EvidenceContext {
  /** The time to judge the evidence at. */
  at: Date;
  /** Where DCAP collateral comes from: shipped in the evidence, or a PCCS the requester trusts. */
  collateral: CollateralPolicy;
  /** Test roots instead of the vendors' (never set in production). */
  roots?: VendorRoots;
}

export interface WorkerEvidence {
  proofDataType: string;
  verdict: Verdict;
  /** When the worker says it made the evidence (bound into the report data); empty if unreadable. */
  issuedAt: string;
}

export interface AttestationVerifier {
  /** Whether this verifier judges evidence announced as `proofDataType`. */
  handles(proofDataType: string): boolean;
  verify(details: WorkerDetails, context: EvidenceContext): Promise<WorkerEvidence>;
}
