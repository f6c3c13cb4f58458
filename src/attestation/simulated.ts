/**
 * The simulated TEE's evidence. There is no hardware here, so nothing vouches for the measurement:
 * the evidence says so in plain words, and its verifier refuses it under any policy that does not
 * explicitly allow simulation. What it does bind is the worker's verification key (reportData), so a
 * development setup still exercises the same key-binding checks a hardware quote would.
 */
import { utf8 } from '../crypto/encoding.js';
import { sha256 } from '../crypto/primitives.js';
import type { WorkerDetails } from '../protocol/messages.js';
import type { AttestationVerifier, EvidenceVerdict, TrustPolicy } from './evidence.js';

export const SIMULATED_PROOF_TYPE = 'TCF-SIMULATED-TEE';
export const SIMULATED_NOTICE =
  'SIMULATED TEE: no hardware isolation and no hardware attestation. The host can read every secret of this worker. For development and tests only.';

export interface SimulatedEvidence {
  type: typeof SIMULATED_PROOF_TYPE;
  simulated: true;
  notice: string;
  /** SHA-256 over the worker's code and workloads. */
  measurement: string;
  /** SHA-256 of the verification key PEM, the key every other key and result is signed with. */
  reportData: string;
}

export function simulatedReportData(verificationKeyPem: string): string {
  return sha256(utf8(verificationKeyPem)).toString('hex');
}

export function createSimulatedEvidence(measurement: string, verificationKeyPem: string): SimulatedEvidence {
  return {
    type: SIMULATED_PROOF_TYPE,
    simulated: true,
    notice: SIMULATED_NOTICE,
    measurement,
    reportData: simulatedReportData(verificationKeyPem),
  };
}

export class SimulatedTeeVerifier implements AttestationVerifier {
  readonly proofDataType = SIMULATED_PROOF_TYPE;

  verify(details: WorkerDetails, policy: TrustPolicy): EvidenceVerdict {
    const data = details.workerTypeData;
    let evidence: Partial<SimulatedEvidence>;
    try {
      evidence = JSON.parse(data.proofData ?? '') as Partial<SimulatedEvidence>;
    } catch {
      return { trusted: false, reason: 'proofData is not simulated-TEE evidence (not JSON)' };
    }
    if (evidence.type !== SIMULATED_PROOF_TYPE || evidence.simulated !== true || typeof evidence.measurement !== 'string') {
      return { trusted: false, reason: 'proofData is not simulated-TEE evidence' };
    }
    if (!policy.allowSimulated) {
      return { trusted: false, reason: 'worker runs in a SIMULATED TEE and the trust policy requires hardware attestation' };
    }
    if (evidence.reportData !== simulatedReportData(data.verificationKey)) {
      return { trusted: false, reason: 'evidence reportData does not bind the worker verification key' };
    }
    if (policy.allowedMeasurements && policy.allowedMeasurements.length > 0 && !policy.allowedMeasurements.includes(evidence.measurement)) {
      return { trusted: false, reason: `measurement ${evidence.measurement} is not in the policy's allowed measurements` };
    }
    return { trusted: true, evidence: { proofDataType: SIMULATED_PROOF_TYPE, simulated: true, measurement: evidence.measurement } };
  }
}
