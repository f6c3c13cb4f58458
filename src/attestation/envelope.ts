/**
 * How hardware evidence travels in a worker's registry entry (`workerTypeData.proofDataType` and
 * `proofData`): one JSON envelope for every TEE, naming the evidence type, carrying the raw evidence
 * (quote, report or document) in base64, the time the worker made it (part of the binding), and what a
 * requester needs beside it to judge it offline: Intel's DCAP collateral for SGX and TDX, the VCEK chain
 * for SEV-SNP. Parsing is strict: a field this format does not define is refused, not ignored.
 */
import { base64ToBytes, bytesToBase64, isBase64 } from '../crypto/encoding.js';
import { parseDcapCollateral, type DcapCollateral } from './dcap.js';
import { AttestationError, type EvidenceType } from './verdict.js';

export type HardwareEvidenceType = Exclude<EvidenceType, 'simulated'>;

export const EVIDENCE_FORMAT = 'tcf-evidence/1';

/** The proofDataType each hardware evidence type is announced under. */
export const PROOF_DATA_TYPES: Readonly<Record<HardwareEvidenceType, string>> = {
  'sgx-dcap': 'TCF-SGX-DCAP',
  tdx: 'TCF-TDX-DCAP',
  'sev-snp': 'TCF-SEV-SNP',
  nitro: 'TCF-AWS-NITRO',
  ias: 'TCF-SGX-IAS',
};

export interface EvidenceEnvelope {
  type: HardwareEvidenceType;
  /** ISO 8601 UTC: when the worker asked its TEE for this evidence (bound into the report data). */
  issuedAt: string;
  /** The quote, report or attestation document, or (IAS) the UTF-8 of Avalon's proofData JSON. */
  evidence: Buffer;
  /** Intel's collateral for the quote (SGX, TDX), when the worker ships it. */
  collateral?: DcapCollateral;
  /** PEM certificates the evidence needs to reach its root (SEV-SNP: VCEK, then ASK, then ARK). */
  certificates?: string;
}

const ENVELOPE_FIELDS = new Set(['format', 'type', 'issuedAt', 'evidence', 'collateral', 'certificates']);
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeEvidenceEnvelope(envelope: EvidenceEnvelope): { proofDataType: string; proofData: string } {
  const json: Record<string, unknown> = {
    format: EVIDENCE_FORMAT,
    type: envelope.type,
    issuedAt: envelope.issuedAt,
    evidence: bytesToBase64(envelope.evidence),
  };
  if (envelope.collateral) json.collateral = envelope.collateral;
  if (envelope.certificates) json.certificates = envelope.certificates;
  return { proofDataType: PROOF_DATA_TYPES[envelope.type], proofData: JSON.stringify(json) };
}

/** The evidence type announced by `proofDataType`, or undefined when it is not a TCF hardware envelope. */
export function envelopeType(proofDataType: string): HardwareEvidenceType | undefined {
  return (Object.keys(PROOF_DATA_TYPES) as HardwareEvidenceType[]).find((type) => PROOF_DATA_TYPES[type] === proofDataType);
}

export function isValidIssuedAt(text: string): boolean {
  return ISO_UTC.test(text) && !Number.isNaN(Date.parse(text)) && new Date(text).toISOString() === text;
}

export function decodeEvidenceEnvelope(proofDataType: string, proofData: string): EvidenceEnvelope {
  const announced = envelopeType(proofDataType);
  if (!announced) throw new AttestationError(`proofDataType "${proofDataType}" is not a TCF evidence type`);
  let value: unknown;
  try {
    value = JSON.parse(proofData);
  } catch {
    throw new AttestationError(`${proofDataType} proofData is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AttestationError(`${proofDataType} proofData is not a JSON object`);
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !ENVELOPE_FIELDS.has(key));
  if (unknown.length > 0) throw new AttestationError(`${proofDataType} proofData has fields ${EVIDENCE_FORMAT} does not define: ${unknown.join(', ')}`);
  if (record.format !== EVIDENCE_FORMAT) throw new AttestationError(`${proofDataType} proofData format is not ${EVIDENCE_FORMAT}`);
  if (record.type !== announced) throw new AttestationError(`${proofDataType} proofData says type ${JSON.stringify(record.type)}, not ${announced}`);
  if (typeof record.issuedAt !== 'string' || !isValidIssuedAt(record.issuedAt)) {
    throw new AttestationError(`${proofDataType} proofData issuedAt is not an ISO 8601 UTC time with milliseconds`);
  }
  if (typeof record.evidence !== 'string' || record.evidence === '' || !isBase64(record.evidence)) {
    throw new AttestationError(`${proofDataType} proofData evidence is not base64`);
  }
  const envelope: EvidenceEnvelope = { type: announced, issuedAt: record.issuedAt, evidence: base64ToBytes(record.evidence) };
  if (record.collateral !== undefined) envelope.collateral = parseDcapCollateral(record.collateral);
  if (record.certificates !== undefined) {
    if (typeof record.certificates !== 'string' || !record.certificates.includes('-----BEGIN CERTIFICATE-----')) {
      throw new AttestationError(`${proofDataType} proofData certificates is not PEM`);
    }
    envelope.certificates = record.certificates;
  }
  return envelope;
}
