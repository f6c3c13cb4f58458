/**
 * What every evidence verifier returns: one verdict shape for SGX DCAP, TDX, SEV-SNP, Nitro, IAS and
 * the simulated TEE, so policies, the CLI and the SDK judge them all the same way. A verifier is a pure
 * function of the evidence, its collateral, the pinned roots and the time it is asked to judge at.
 */

export type EvidenceType = 'sgx-dcap' | 'tdx' | 'sev-snp' | 'nitro' | 'ias' | 'simulated';
export const HARDWARE_EVIDENCE_TYPES: readonly EvidenceType[] = ['sgx-dcap', 'tdx', 'sev-snp', 'nitro', 'ias'];

/**
 * Intel's TCB statuses (DCAP TCB info and IAS quote status alike), best first, plus the two answers of
 * evidence types that have none: 'NotApplicable' (Nitro, SEV-SNP: no vendor status) and 'Simulated'.
 */
export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number] | 'NotApplicable' | 'Simulated';

/** The judgement of one piece of evidence, before any policy: is it genuine, and what does it say. */
export interface Verdict {
  /** True when the evidence is genuine: signatures, chain to the pinned root, collateral current at `judgedAt`. */
  verified: boolean;
  type: EvidenceType;
  /** Why it is not verified (empty when verified). */
  reason: string;
  /** ISO time the evidence was judged at (the caller's, never an implicit clock). */
  judgedAt: string;
  /**
   * The main measurement, lowercase hex: MRENCLAVE (SGX), MRTD (TDX), the launch measurement (SEV-SNP),
   * PCR0 (Nitro), the code hash (simulated). Empty when the evidence could not be read.
   */
  measurement: string;
  /** Every measurement the evidence carries, by name (mrEnclave, mrSigner, mrTd, rtmr0…, hostData, pcr0…). */
  measurements: Record<string, string>;
  /** Who signed the measured code, when the evidence says: MRSIGNER (SGX, IAS), PCR8 (Nitro). */
  signer: string;
  /** The 64 report-data bytes (Nitro: user_data) as lowercase hex. */
  reportData: string;
  debug: boolean;
  tcbStatus: TcbStatus;
  /** Intel security advisories that apply to this platform's TCB (INTEL-SA-…). */
  advisoryIds: string[];
  /** When the evidence was produced, if the evidence itself says so (Nitro's timestamp). */
  producedAt?: string;
  /** Type-specific facts worth showing (FMSPC, product, reported TCB, module id, …). */
  details: Record<string, string | number | boolean>;
}

/** A refusal with its reason: thrown inside verifiers, turned into an unverified Verdict at their edge. */
export class AttestationError extends Error {
  override readonly name = 'AttestationError';
}

export function emptyVerdict(type: EvidenceType, at: Date): Verdict {
  return {
    verified: false,
    type,
    reason: '',
    judgedAt: Number.isNaN(at.getTime()) ? '' : at.toISOString(),
    measurement: '',
    measurements: {},
    signer: '',
    reportData: '',
    debug: false,
    tcbStatus: 'NotApplicable',
    advisoryIds: [],
    details: {},
  };
}

/**
 * Runs a verifier body that fills `verdict` as it reads the evidence and throws AttestationError on the
 * first failed check: what was read before the failure stays visible, and the reason is kept.
 */
export function judge(type: EvidenceType, at: Date, body: (verdict: Verdict) => void): Verdict {
  const verdict = emptyVerdict(type, at);
  if (Number.isNaN(at.getTime())) return { ...verdict, judgedAt: '', reason: 'the verification time is not a valid date' };
  try {
    body(verdict);
    return { ...verdict, verified: true, reason: '' };
  } catch (error) {
    if (!(error instanceof AttestationError)) {
      return { ...verdict, verified: false, reason: `malformed evidence: ${(error as Error).message ?? String(error)}` };
    }
    return { ...verdict, verified: false, reason: error.message };
  }
}
