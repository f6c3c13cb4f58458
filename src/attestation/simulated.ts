/**
 * The simulated TEE's evidence. There is no hardware here, so nothing vouches for the measurement:
 * the evidence says so in plain words, its verdict carries the TCB status 'Simulated', and only a
 * policy that accepts the type 'simulated' lets it pass — never one that asks for hardware. What it
 * does carry is the same binding as hardware report data (workerId, both keys, issuedAt), so a
 * development setup exercises the very checks a hardware quote goes through.
 */
import type { WorkerDetails } from '../protocol/messages.js';
import { bindingReportData, type BoundIdentity } from './binding.js';
import { isValidIssuedAt } from './envelope.js';
import type { AttestationVerifier, EvidenceContext, WorkerEvidence } from './evidence.js';
import { emptyVerdict } from './verdict.js';

export const SIMULATED_PROOF_TYPE = 'TCF-SIMULATED-TEE';
export const SIMULATED_NOTICE =
  'SIMULATED TEE: no hardware isolation and no hardware attestation. The host can read every secret of this worker. For development and tests only.';

export interface SimulatedEvidence {
  type: typeof SIMULATED_PROOF_TYPE;
  simulated: true;
  notice: string;
  /** SHA-256 over the worker's code and workloads. */
  measurement: string;
  /** The binding of the worker's identity (attestation/binding.ts), hex: what a hardware TEE would sign. */
  reportData: string;
  issuedAt: string;
}

export function createSimulatedEvidence(measurement: string, identity: BoundIdentity): SimulatedEvidence {
  return {
    type: SIMULATED_PROOF_TYPE,
    simulated: true,
    notice: SIMULATED_NOTICE,
    measurement,
    reportData: bindingReportData(identity).toString('hex'),
    issuedAt: identity.issuedAt,
  };
}

const HEX = /^[0-9a-f]*$/;

export class SimulatedTeeVerifier implements AttestationVerifier {
  handles(proofDataType: string): boolean {
    return proofDataType === SIMULATED_PROOF_TYPE;
  }

  async verify(details: WorkerDetails, context: EvidenceContext): Promise<WorkerEvidence> {
    const verdict = emptyVerdict('simulated', context.at);
    const refuse = (reason: string): WorkerEvidence => ({ proofDataType: SIMULATED_PROOF_TYPE, verdict: { ...verdict, reason }, issuedAt: '' });
    let evidence: Partial<SimulatedEvidence>;
    try {
      evidence = JSON.parse(details.workerTypeData.proofData ?? '') as Partial<SimulatedEvidence>;
    } catch {
      return refuse('proofData is not simulated-TEE evidence (not JSON)');
    }
    if (
      evidence.type !== SIMULATED_PROOF_TYPE ||
      evidence.simulated !== true ||
      typeof evidence.measurement !== 'string' ||
      !HEX.test(evidence.measurement) ||
      typeof evidence.reportData !== 'string' ||
      !HEX.test(evidence.reportData) ||
      typeof evidence.issuedAt !== 'string' ||
      !isValidIssuedAt(evidence.issuedAt)
    ) {
      return refuse('proofData is not simulated-TEE evidence (type, measurement, reportData and issuedAt are required)');
    }
    return {
      proofDataType: SIMULATED_PROOF_TYPE,
      issuedAt: evidence.issuedAt,
      verdict: {
        ...verdict,
        verified: true,
        measurement: evidence.measurement,
        measurements: { codeHash: evidence.measurement },
        reportData: evidence.reportData,
        tcbStatus: 'Simulated',
        details: { notice: SIMULATED_NOTICE },
      },
    };
  }
}
