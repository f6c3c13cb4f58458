/**
 * Trust policies: what a requester demands of a worker's evidence before it encrypts anything for it.
 * A verdict says what genuine evidence shows; the policy says whether that is good enough — which TEE
 * types, which code (measurements) and signers, how current the platform's TCB must be, whether debug
 * enclaves pass (never by default), how old the evidence may be, and where DCAP collateral comes from.
 * Policies are JSON files an operator or auditor writes; parsing them is strict so a typo in a field
 * name is an error, not a silently weaker policy.
 */
import { HARDWARE_EVIDENCE_TYPES, TCB_STATUSES, type EvidenceType, type TcbStatus, type Verdict } from './verdict.js';

/** A measurement the policy allows: the verdict's main measurement, or named measurements that must all match. */
export type AllowedMeasurement = string | Readonly<Record<string, string>>;

export type CollateralPolicy = { source: 'embedded' } | { source: 'pccs'; url: string };

export interface TrustPolicy {
  /** Evidence types accepted; 'simulated' only in development. */
  acceptedTypes: readonly EvidenceType[];
  /**
   * Per type, the code that may run: a list of allowed measurements, or 'any' to accept any code on
   * genuine hardware (said explicitly, because report data then binds keys an unknown program chose).
   * A type accepted without an entry here is refused.
   */
  measurements: Partial<Readonly<Record<EvidenceType, readonly AllowedMeasurement[] | 'any'>>>;
  /** Per type, the signers (MRSIGNER, PCR8, SNP author key digest) allowed; absent means any signer. */
  signers?: Partial<Readonly<Record<EvidenceType, readonly string[]>>>;
  /** The worst Intel TCB status accepted (statuses are ordered best first); Revoked is never accepted. */
  minimumTcbStatus: (typeof TCB_STATUSES)[number];
  /** When present, every advisory the platform is exposed to must be listed here. */
  allowedAdvisoryIds?: readonly string[];
  allowDebug: boolean;
  /** When present, evidence older than this (from when it was made) is refused. */
  maxEvidenceAgeSeconds?: number;
  collateral: CollateralPolicy;
}

const INTEL_STATUSES: readonly string[] = TCB_STATUSES;

/** Development and tests: the simulated TEE and any hardware evidence, any code. */
export const DEVELOPMENT_POLICY: TrustPolicy = {
  acceptedTypes: ['simulated', ...HARDWARE_EVIDENCE_TYPES],
  measurements: Object.fromEntries(['simulated', ...HARDWARE_EVIDENCE_TYPES].map((type) => [type, 'any'])),
  minimumTcbStatus: 'ConfigurationAndSWHardeningNeeded',
  allowDebug: false,
  collateral: { source: 'embedded' },
};

/**
 * Genuine hardware of any type with an up-to-date TCB, any code. Production policies pin measurements;
 * this one only guarantees the simulated TEE never passes.
 */
export const HARDWARE_ONLY_POLICY: TrustPolicy = {
  acceptedTypes: ['sgx-dcap', 'tdx', 'sev-snp', 'nitro'],
  measurements: { 'sgx-dcap': 'any', tdx: 'any', 'sev-snp': 'any', nitro: 'any' },
  minimumTcbStatus: 'UpToDate',
  allowDebug: false,
  collateral: { source: 'embedded' },
};

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

const POLICY_FIELDS = ['acceptedTypes', 'measurements', 'signers', 'minimumTcbStatus', 'allowedAdvisoryIds', 'allowDebug', 'maxEvidenceAgeSeconds', 'collateral'];
const EVIDENCE_TYPES: readonly string[] = ['simulated', ...HARDWARE_EVIDENCE_TYPES];
const HEX = /^[0-9a-fA-F]+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function evidenceTypeKeys(value: unknown, field: string): Record<string, unknown> {
  if (!isRecord(value)) throw new PolicyError(`${field} must be an object keyed by evidence type`);
  for (const key of Object.keys(value)) {
    if (!EVIDENCE_TYPES.includes(key)) throw new PolicyError(`${field}.${key}: unknown evidence type (one of ${EVIDENCE_TYPES.join(', ')})`);
  }
  return value;
}

function hexList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new PolicyError(`${field} must be a non-empty array of hex strings`);
  return value.map((item, index) => {
    if (typeof item !== 'string' || !HEX.test(item)) throw new PolicyError(`${field}[${index}] must be a hex string`);
    return item.toLowerCase();
  });
}

function parseMeasurement(item: unknown, field: string): AllowedMeasurement {
  if (typeof item === 'string') {
    if (!HEX.test(item)) throw new PolicyError(`${field} must be a hex string or an object of named hex measurements`);
    return item.toLowerCase();
  }
  if (!isRecord(item) || Object.keys(item).length === 0) throw new PolicyError(`${field} must be a hex string or an object of named hex measurements`);
  return Object.fromEntries(
    Object.entries(item).map(([name, hex]) => {
      if (typeof hex !== 'string' || !HEX.test(hex)) throw new PolicyError(`${field}.${name} must be a hex string`);
      return [name, hex.toLowerCase()];
    }),
  );
}

/** Reads a policy from its JSON form (text or parsed), refusing anything it does not define. */
export function parseTrustPolicy(json: unknown): TrustPolicy {
  let value = json;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new PolicyError(`the policy is not JSON: ${(error as Error).message}`);
    }
  }
  if (!isRecord(value)) throw new PolicyError('the policy must be a JSON object');
  const unknown = Object.keys(value).filter((key) => !POLICY_FIELDS.includes(key));
  if (unknown.length > 0) throw new PolicyError(`unknown policy fields: ${unknown.join(', ')} (known: ${POLICY_FIELDS.join(', ')})`);

  if (!Array.isArray(value.acceptedTypes) || value.acceptedTypes.length === 0) throw new PolicyError('acceptedTypes must be a non-empty array of evidence types');
  const acceptedTypes = value.acceptedTypes.map((type, index) => {
    if (typeof type !== 'string' || !EVIDENCE_TYPES.includes(type)) throw new PolicyError(`acceptedTypes[${index}]: unknown evidence type ${JSON.stringify(type)} (one of ${EVIDENCE_TYPES.join(', ')})`);
    return type as EvidenceType;
  });

  const measurementsJson = evidenceTypeKeys(value.measurements ?? {}, 'measurements');
  const measurements: Partial<Record<EvidenceType, readonly AllowedMeasurement[] | 'any'>> = {};
  for (const [type, entry] of Object.entries(measurementsJson)) {
    if (entry === 'any') measurements[type as EvidenceType] = 'any';
    else if (Array.isArray(entry) && entry.length > 0) measurements[type as EvidenceType] = entry.map((item, index) => parseMeasurement(item, `measurements.${type}[${index}]`));
    else throw new PolicyError(`measurements.${type} must be "any" or a non-empty array of measurements`);
  }
  for (const type of acceptedTypes) {
    if (measurements[type] === undefined) throw new PolicyError(`measurements.${type} is missing: list the code ${type} workers may run, or say "any"`);
  }

  const policy: TrustPolicy = {
    acceptedTypes,
    measurements,
    minimumTcbStatus: 'UpToDate',
    allowDebug: false,
    collateral: { source: 'embedded' },
  };
  if (value.signers !== undefined) {
    policy.signers = Object.fromEntries(Object.entries(evidenceTypeKeys(value.signers, 'signers')).map(([type, list]) => [type, hexList(list, `signers.${type}`)]));
  }
  if (value.minimumTcbStatus !== undefined) {
    if (typeof value.minimumTcbStatus !== 'string' || !INTEL_STATUSES.includes(value.minimumTcbStatus)) {
      throw new PolicyError(`minimumTcbStatus must be one of ${INTEL_STATUSES.join(', ')}`);
    }
    if (value.minimumTcbStatus === 'Revoked') throw new PolicyError('minimumTcbStatus cannot be Revoked: a revoked platform is never trusted');
    policy.minimumTcbStatus = value.minimumTcbStatus as TrustPolicy['minimumTcbStatus'];
  }
  if (value.allowedAdvisoryIds !== undefined) {
    if (!Array.isArray(value.allowedAdvisoryIds) || value.allowedAdvisoryIds.some((id) => typeof id !== 'string' || id === '')) {
      throw new PolicyError('allowedAdvisoryIds must be an array of advisory ids such as "INTEL-SA-00615"');
    }
    policy.allowedAdvisoryIds = value.allowedAdvisoryIds as string[];
  }
  if (value.allowDebug !== undefined) {
    if (typeof value.allowDebug !== 'boolean') throw new PolicyError('allowDebug must be true or false');
    policy.allowDebug = value.allowDebug;
  }
  if (value.maxEvidenceAgeSeconds !== undefined) {
    if (typeof value.maxEvidenceAgeSeconds !== 'number' || !Number.isInteger(value.maxEvidenceAgeSeconds) || value.maxEvidenceAgeSeconds <= 0) {
      throw new PolicyError('maxEvidenceAgeSeconds must be a positive whole number of seconds');
    }
    policy.maxEvidenceAgeSeconds = value.maxEvidenceAgeSeconds;
  }
  if (value.collateral !== undefined) policy.collateral = parseCollateralPolicy(value.collateral);
  return policy;
}

function parseCollateralPolicy(value: unknown): CollateralPolicy {
  if (!isRecord(value)) throw new PolicyError('collateral must be {"source":"embedded"} or {"source":"pccs","url":"https://…"}');
  if (value.source === 'embedded' && Object.keys(value).length === 1) return { source: 'embedded' };
  if (value.source === 'pccs' && typeof value.url === 'string' && Object.keys(value).length === 2) {
    let url: URL;
    try {
      url = new URL(value.url);
    } catch {
      throw new PolicyError(`collateral.url is not a URL: ${JSON.stringify(value.url)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PolicyError('collateral.url must be an http(s) URL');
    return { source: 'pccs', url: value.url.replace(/\/+$/, '') };
  }
  throw new PolicyError('collateral must be {"source":"embedded"} or {"source":"pccs","url":"https://…"}');
}

function measurementMatches(verdict: Verdict, allowed: AllowedMeasurement): boolean {
  if (typeof allowed === 'string') return verdict.measurement.toLowerCase() === allowed;
  return Object.entries(allowed).every(([name, hex]) => verdict.measurements[name]?.toLowerCase() === hex);
}

/** The worse of two statuses is the one later in Intel's best-first order. */
function tcbRank(status: TcbStatus): number {
  return INTEL_STATUSES.indexOf(status);
}

export interface PolicyContext {
  /** The time the decision is made at (the same the verdict was judged at). */
  at: Date;
  /** When the evidence was made, if known: the evidence's own time, else the worker's bound issuedAt. */
  producedAt?: string;
}

/**
 * Every reason `policy` refuses a verdict; empty when it passes. All reasons at once, so an operator
 * fixes a worker (or a policy) in one round instead of one refusal at a time.
 */
export function policyRefusals(verdict: Verdict, policy: TrustPolicy, context: PolicyContext): string[] {
  if (!verdict.verified) return [`the evidence is not genuine: ${verdict.reason}`];
  const reasons: string[] = [];
  if (!policy.acceptedTypes.includes(verdict.type)) {
    reasons.push(
      verdict.type === 'simulated'
        ? 'worker runs in a SIMULATED TEE and the trust policy requires hardware attestation'
        : `evidence type ${verdict.type} is not accepted (the policy accepts ${policy.acceptedTypes.join(', ')})`,
    );
    return reasons;
  }
  const allowed = policy.measurements[verdict.type];
  if (allowed === undefined) reasons.push(`the policy names no measurement for ${verdict.type}`);
  else if (allowed !== 'any' && !allowed.some((entry) => measurementMatches(verdict, entry))) {
    reasons.push(`measurement ${verdict.measurement} is not in the policy's allowed measurements for ${verdict.type}`);
  }
  const signers = policy.signers?.[verdict.type];
  if (signers && !signers.includes(verdict.signer.toLowerCase())) reasons.push(`signer ${verdict.signer || '(none)'} is not in the policy's allowed signers for ${verdict.type}`);
  if (verdict.debug && !policy.allowDebug) reasons.push('the TEE runs in debug mode: its memory is readable by the host, and the policy does not allow debug');
  if (tcbRank(verdict.tcbStatus) >= 0) {
    if (verdict.tcbStatus === 'Revoked') reasons.push('the platform TCB is Revoked');
    else if (tcbRank(verdict.tcbStatus) > tcbRank(policy.minimumTcbStatus)) {
      reasons.push(`TCB status ${verdict.tcbStatus} is worse than the policy's minimum ${policy.minimumTcbStatus}`);
    }
  }
  if (policy.allowedAdvisoryIds) {
    const unlisted = verdict.advisoryIds.filter((id) => !policy.allowedAdvisoryIds!.includes(id));
    if (unlisted.length > 0) reasons.push(`advisories not allowed by the policy apply: ${unlisted.join(', ')}`);
  }
  if (policy.maxEvidenceAgeSeconds !== undefined) {
    const produced = context.producedAt ? Date.parse(context.producedAt) : Number.NaN;
    if (Number.isNaN(produced)) reasons.push('the policy limits evidence age, and this evidence does not say when it was made');
    else {
      const ageSeconds = (context.at.getTime() - produced) / 1000;
      if (ageSeconds > policy.maxEvidenceAgeSeconds) reasons.push(`the evidence is ${Math.round(ageSeconds)} s old; the policy allows ${policy.maxEvidenceAgeSeconds} s`);
      if (ageSeconds < -300) reasons.push(`the evidence says it was made at ${context.producedAt}, in the future`);
    }
  }
  return reasons;
}
