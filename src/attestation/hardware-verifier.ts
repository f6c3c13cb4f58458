/**
 * The verifier for every kind of hardware evidence TCF announces (attestation/envelope.ts): it opens the
 * envelope, gets DCAP collateral where the policy says (the envelope, or a PCCS the requester trusts —
 * the one I/O a verification may need), and hands the evidence to the pure verifier of its type.
 */
import type { WorkerDetails } from '../protocol/messages.js';
import type { DcapCollateral } from './dcap.js';
import { decodeEvidenceEnvelope, envelopeType, type EvidenceEnvelope } from './envelope.js';
import type { AttestationVerifier, EvidenceContext, WorkerEvidence } from './evidence.js';
import { collateralSourceFor } from './pccs.js';
import { emptyVerdict } from './verdict.js';
import { verifyEvidence } from './verify.js';

export class HardwareEvidenceVerifier implements AttestationVerifier {
  handles(proofDataType: string): boolean {
    return envelopeType(proofDataType) !== undefined;
  }

  async verify(details: WorkerDetails, context: EvidenceContext): Promise<WorkerEvidence> {
    const proofDataType = details.workerTypeData.proofDataType ?? '';
    const type = envelopeType(proofDataType);
    if (!type) throw new Error(`HardwareEvidenceVerifier asked to judge ${proofDataType}`);
    let envelope: EvidenceEnvelope;
    try {
      envelope = decodeEvidenceEnvelope(proofDataType, details.workerTypeData.proofData ?? '');
    } catch (error) {
      return { proofDataType, issuedAt: '', verdict: { ...emptyVerdict(type, context.at), reason: (error as Error).message } };
    }
    let collateral: DcapCollateral | undefined;
    const source = type === 'sgx-dcap' || type === 'tdx' ? collateralSourceFor(context.collateral, envelope.collateral) : undefined;
    if (source) {
      try {
        collateral = await source.dcap(envelope.evidence);
      } catch (error) {
        return { proofDataType, issuedAt: envelope.issuedAt, verdict: { ...emptyVerdict(type, context.at), reason: `collateral: ${(error as Error).message}` } };
      }
    }
    const parts = { evidence: envelope.evidence, ...(collateral ? { collateral } : {}), ...(envelope.certificates ? { certificates: envelope.certificates } : {}) };
    const verdict = verifyEvidence(type, parts, context.roots ? { at: context.at, roots: context.roots } : { at: context.at });
    return { proofDataType, issuedAt: envelope.issuedAt, verdict };
  }
}
