/**
 * Intel Attestation Service (EPID) attestation verification reports, for old evidence only. IAS judged an
 * SGX EPID quote and answered with a JSON report (the quote's status and its body) signed with RSA-SHA256
 * under a certificate chaining to the Intel SGX Attestation Report Signing CA. Intel has ended EPID
 * attestation and the last report signing certificate expired on 2026-11-20, so a report verifies only
 * when judged at a time in that certificate's life. Hyperledger Avalon's SGX workers publish the report,
 * its signature and the certificate as proofData of type 'TEE-SGX-IAS'; this file owns reading that
 * proofData, the report and the quote body it carries, and the verdict on them.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { parseEnclaveReport, parsePemCertificates, type EnclaveReport } from './dcap-quote.js';
import { certificateExtensions, expectTag, parseDer, TAG } from './der.js';
import { INTEL_IAS_ROOT } from './roots.js';
import { AttestationError, judge, type TcbStatus, type Verdict } from './verdict.js';
import { verifyChain } from './x509.js';

/** The proofDataType Avalon's SGX workers announce IAS evidence under. */
export const IAS_PROOF_DATA_TYPE = 'TEE-SGX-IAS';
export const IAS_END_OF_LIFE_NOTE = 'Intel EPID attestation (IAS) reached end of life; accept only old evidence';

/** Avalon's proofData for IAS evidence, once read. */
export interface IasEvidence {
  /** The attestation verification report: exactly the bytes IAS signed (its JSON text, UTF-8). */
  report: Buffer;
  /** IAS's RSA-SHA256 (PKCS#1 v1.5) signature over `report`: the X-IASReport-Signature header, decoded. */
  signature: Buffer;
  /** The report signing certificate, then whatever IAS sent after it (its root CA). */
  signingChain: X509Certificate[];
}

export interface IasVerifyOptions {
  /** The time to judge the report at (certificate validity, report age); never read from a clock here. */
  at: Date;
  /** Pinned roots the signing certificate must chain to; the Intel SGX Attestation Report Signing CA by default. */
  roots?: readonly X509Certificate[];
}

/** Every isvEnclaveQuoteStatus of IAS API v4 (v2 and v3 use a subset). */
export const IAS_QUOTE_STATUSES = [
  'OK',
  'SIGNATURE_INVALID',
  'GROUP_REVOKED',
  'SIGNATURE_REVOKED',
  'KEY_REVOKED',
  'SIGRL_VERSION_MISMATCH',
  'GROUP_OUT_OF_DATE',
  'CONFIGURATION_NEEDED',
  'SW_HARDENING_NEEDED',
  'CONFIGURATION_AND_SW_HARDENING_NEEDED',
] as const;
export type IasQuoteStatus = (typeof IAS_QUOTE_STATUSES)[number];

const PSE_MANIFEST_STATUSES = ['OK', 'UNKNOWN', 'INVALID', 'OUT_OF_DATE', 'REVOKED', 'RL_VERSION_MISMATCH'] as const;

/** The attestation verification report once every field has been checked. */
export interface IasReport {
  id: string;
  /** The timestamp exactly as IAS wrote it: UTC, no zone, up to microseconds. */
  timestamp: string;
  /** Microseconds since the UNIX epoch, UTC. */
  timestampMicros: number;
  /** The API version IAS answered with; reports of API v2 carry none. */
  version: number | undefined;
  quoteStatus: IasQuoteStatus;
  quoteBody: Buffer;
  revocationReason: number | undefined;
  pseManifestStatus: string | undefined;
  pseManifestHash: string | undefined;
  platformInfoBlob: string | undefined;
  nonce: string | undefined;
  epidPseudonym: Buffer | undefined;
  advisoryUrl: string | undefined;
  advisoryIds: string[];
}

/** The quote as IAS returns it: the EPID quote without its signature, 48 bytes of header and the enclave report. */
export interface EpidQuoteBody {
  version: number;
  linkable: boolean;
  /** The EPID group id as the platform wrote it: 4 bytes, little-endian. */
  epidGroupId: Buffer;
  qeSvn: number;
  pceSvn: number;
  extendedEpidGroupId: number;
  basename: Buffer;
  report: EnclaveReport;
}

const PROOF_DATA_FIELDS = ['verification_report', 'ias_report_signature', 'ias_report_signing_certificate'] as const;

const REQUIRED_REPORT_FIELDS = ['id', 'timestamp', 'isvEnclaveQuoteStatus', 'isvEnclaveQuoteBody'] as const;
const OPTIONAL_REPORT_FIELDS = [
  'version',
  'revocationReason',
  'pseManifestStatus',
  'pseManifestHash',
  'platformInfoBlob',
  'nonce',
  'epidPseudonym',
  'advisoryURL',
  'advisoryIDs',
] as const;
const KNOWN_REPORT_FIELDS = new Set<string>([...REQUIRED_REPORT_FIELDS, ...OPTIONAL_REPORT_FIELDS]);
/** API v3 introduced the field (3), v4 kept it (4); a v2 report has none. */
const REPORT_VERSIONS = new Set([3, 4]);

const QUOTE_BODY_LENGTH = 432;
const QUOTE_HEADER_LENGTH = 48;
/** EPID quotes are versions 1 and 2; version 3 and later are DCAP ECDSA quotes, which IAS never judged. */
const EPID_QUOTE_VERSIONS = new Set([1, 2]);
const SIGNATURE_TYPE_UNLINKABLE = 0;
const SIGNATURE_TYPE_LINKABLE = 1;
/** EPID pseudonym: the B and K elements of the EPID signature, 64 bytes each. */
const EPID_PSEUDONYM_LENGTH = 128;
/** IAS's nonce is the service provider's, echoed back; the API caps it at 32 characters. */
const MAX_NONCE_LENGTH = 32;
/** Platform info blob TLV: type 21, then a big-endian length of what follows the 4-byte header. */
const PLATFORM_INFO_BLOB_TYPE = 0x15;
const PLATFORM_INFO_HEADER_LENGTH = 4;
/** RFC 5280 CRLReason codes (7 is unused). */
const CRL_REASONS = new Set([0, 1, 2, 3, 4, 5, 6, 8, 9, 10]);
const DEBUG_ATTRIBUTE = 0x02;
const MIN_RSA_BITS = 2048;

const OID_KEY_USAGE = '2.5.29.15';
const DIGITAL_SIGNATURE = 0x80;

const IAS_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

function canonicalBase64(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (text.length === 0 || bytes.toString('base64') !== text) throw new AttestationError(`${what} is not canonical padded base64`);
  return bytes;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'number' ? String(value) : `a ${typeof value}`;
}

function asPlainObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AttestationError(`${what} is ${describeValue(value)}, not a JSON object`);
  return value as Record<string, unknown>;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new AttestationError(`${what} is ${describeValue(value)}, not a string`);
  return value;
}

/**
 * Reads Avalon's proofData (a JSON object of exactly verification_report, ias_report_signature and
 * ias_report_signing_certificate, all strings). Throws AttestationError naming what is malformed.
 */
export function parseIasEvidence(proofData: string): IasEvidence {
  let parsed: unknown;
  try {
    parsed = JSON.parse(proofData);
  } catch {
    throw new AttestationError('the IAS proofData is not JSON');
  }
  const fields = asPlainObject(parsed, 'the IAS proofData');
  for (const name of Object.keys(fields)) {
    if (!(PROOF_DATA_FIELDS as readonly string[]).includes(name)) throw new AttestationError(`the IAS proofData has an unknown field ${JSON.stringify(name)}`);
  }
  for (const name of PROOF_DATA_FIELDS) {
    if (!Object.hasOwn(fields, name)) throw new AttestationError(`the IAS proofData has no ${name}`);
  }
  const report = asString(fields.verification_report, 'verification_report');
  if (report.length === 0) throw new AttestationError('verification_report is empty');
  return {
    report: Buffer.from(report, 'utf8'),
    signature: canonicalBase64(asString(fields.ias_report_signature, 'ias_report_signature'), 'ias_report_signature'),
    signingChain: parsePemCertificates(asString(fields.ias_report_signing_certificate, 'ias_report_signing_certificate'), 'ias_report_signing_certificate'),
  };
}

function commonName(certificate: X509Certificate): string {
  return /CN=([^\n]+)/.exec(certificate.subject)?.[1] ?? certificate.subject.replace(/\n/g, ', ');
}

/** The first byte of KeyUsage, where digitalSignature lives. */
function keyUsageFirstByte(certificate: X509Certificate): number | undefined {
  const extension = certificateExtensions(certificate.raw).find((candidate) => candidate.oid === OID_KEY_USAGE);
  if (!extension) return undefined;
  return expectTag(parseDer(extension.value), TAG.BIT_STRING, 'key usage').value[1] ?? 0;
}

/**
 * The report signing certificate, once the chain IAS sent (the certificate, then its root) reaches a
 * pinned root at `at` using every certificate offered, and the certificate may sign with an RSA key.
 */
function trustedSigningCertificate(chain: readonly X509Certificate[], roots: readonly X509Certificate[], at: Date): X509Certificate {
  const path = verifyChain(chain, roots, at);
  if (path.length < chain.length) {
    throw new AttestationError(`ias_report_signing_certificate holds ${chain.length - path.length} certificate(s) after the pinned root`);
  }
  const leaf = chain[0] as X509Certificate;
  if (leaf.ca) throw new AttestationError(`the report signing certificate "${commonName(leaf)}" is a CA, not an end entity`);
  const usage = keyUsageFirstByte(leaf);
  if (usage === undefined || (usage & DIGITAL_SIGNATURE) === 0) {
    throw new AttestationError(`the report signing certificate "${commonName(leaf)}" is not allowed digital signatures (key usage)`);
  }
  const bits = leaf.publicKey.asymmetricKeyDetails?.modulusLength;
  if (leaf.publicKey.asymmetricKeyType !== 'rsa' || bits === undefined || bits < MIN_RSA_BITS) {
    throw new AttestationError(`the report signing certificate "${commonName(leaf)}" does not hold an RSA key of at least ${MIN_RSA_BITS} bits`);
  }
  return leaf;
}

function assertSignedByIas(evidence: IasEvidence, signingCertificate: X509Certificate): void {
  const modulusBytes = (signingCertificate.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  if (evidence.signature.length !== modulusBytes) {
    throw new AttestationError(`the report signature has ${evidence.signature.length} bytes, the signing key's modulus ${modulusBytes}`);
  }
  const key = { key: signingCertificate.publicKey, padding: crypto.constants.RSA_PKCS1_PADDING };
  if (!crypto.verify('sha256', evidence.report, key, evidence.signature)) {
    throw new AttestationError(`the report signature does not verify with the key of "${commonName(signingCertificate)}"`);
  }
}

/**
 * IAS writes its report as compact JSON, each field once. Requiring the text to be exactly what
 * JSON.stringify writes back for it rules out duplicate fields (where readers disagree on which one
 * counts), whitespace and needless escapes: the signed bytes have one reading.
 */
function parseCompactJsonObject(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AttestationError('the report is not JSON');
  }
  const object = asPlainObject(parsed, 'the report');
  if (JSON.stringify(object) !== text) throw new AttestationError('the report is not compact JSON with each field once');
  return object;
}

function parseTimestamp(value: unknown): { timestamp: string; timestampMicros: number } {
  const timestamp = asString(value, 'timestamp');
  const match = IAS_TIMESTAMP.exec(timestamp);
  if (!match) throw new AttestationError(`timestamp ${JSON.stringify(timestamp)} is not IAS's UTC form yyyy-MM-ddTHH:mm:ss.ffffff`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2020-02-30 over into March: a time that does not print back as written is not a real one.
  if (new Date(millis).toISOString().slice(0, 19) !== timestamp.slice(0, 19)) {
    throw new AttestationError(`timestamp ${JSON.stringify(timestamp)} is not a real date and time`);
  }
  const micros = Number((match[7] ?? '').padEnd(6, '0'));
  return { timestamp, timestampMicros: millis * 1000 + micros };
}

function parseQuoteStatus(value: unknown): IasQuoteStatus {
  const status = asString(value, 'isvEnclaveQuoteStatus');
  if (!(IAS_QUOTE_STATUSES as readonly string[]).includes(status)) {
    throw new AttestationError(`isvEnclaveQuoteStatus ${JSON.stringify(status)} is not a status IAS defines`);
  }
  return status as IasQuoteStatus;
}

function optionalString(value: unknown, what: string): string | undefined {
  return value === undefined ? undefined : asString(value, what);
}

function parseVersion(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !REPORT_VERSIONS.has(value)) {
    throw new AttestationError(`version ${describeValue(value)} is not an IAS report version (3 or 4)`);
  }
  return value;
}

function parseRevocationReason(value: unknown, status: IasQuoteStatus): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !CRL_REASONS.has(value)) {
    throw new AttestationError(`revocationReason ${describeValue(value)} is not an RFC 5280 CRL reason`);
  }
  if (status !== 'GROUP_REVOKED') throw new AttestationError(`revocationReason is given with status ${status}; IAS gives it only for a revoked group`);
  return value;
}

function parsePseManifestStatus(value: unknown): string | undefined {
  const status = optionalString(value, 'pseManifestStatus');
  if (status !== undefined && !(PSE_MANIFEST_STATUSES as readonly string[]).includes(status)) {
    throw new AttestationError(`pseManifestStatus ${JSON.stringify(status)} is not a status IAS defines`);
  }
  return status;
}

function parsePseManifestHash(value: unknown): string | undefined {
  const hash = optionalString(value, 'pseManifestHash');
  if (hash !== undefined && !/^[0-9A-Fa-f]{64}$/.test(hash)) throw new AttestationError('pseManifestHash is not a SHA-256 in hex');
  return hash;
}

function parsePlatformInfoBlob(value: unknown): string | undefined {
  const blob = optionalString(value, 'platformInfoBlob');
  if (blob === undefined) return undefined;
  if (!/^([0-9A-Fa-f]{2})+$/.test(blob)) throw new AttestationError('platformInfoBlob is not hex');
  const bytes = Buffer.from(blob, 'hex');
  const framed = bytes.length >= PLATFORM_INFO_HEADER_LENGTH && bytes[0] === PLATFORM_INFO_BLOB_TYPE;
  if (!framed || bytes.readUInt16BE(2) !== bytes.length - PLATFORM_INFO_HEADER_LENGTH) {
    throw new AttestationError('platformInfoBlob is not a platform info TLV (type 21, its length in bytes 2-3)');
  }
  return blob;
}

function parseNonce(value: unknown): string | undefined {
  const nonce = optionalString(value, 'nonce');
  if (nonce !== undefined && nonce.length > MAX_NONCE_LENGTH) {
    throw new AttestationError(`nonce has ${nonce.length} characters, IAS echoes at most ${MAX_NONCE_LENGTH}`);
  }
  return nonce;
}

function parseEpidPseudonym(value: unknown): Buffer | undefined {
  if (value === undefined) return undefined;
  const pseudonym = canonicalBase64(asString(value, 'epidPseudonym'), 'epidPseudonym');
  if (pseudonym.length !== EPID_PSEUDONYM_LENGTH) throw new AttestationError(`epidPseudonym has ${pseudonym.length} bytes, not ${EPID_PSEUDONYM_LENGTH}`);
  return pseudonym;
}

function parseAdvisoryUrl(value: unknown): string | undefined {
  const url = optionalString(value, 'advisoryURL');
  if (url !== undefined && !/^https:\/\/[^\s]+$/.test(url)) throw new AttestationError('advisoryURL is not an https URL');
  return url;
}

function parseAdvisoryIds(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new AttestationError(`advisoryIDs is ${describeValue(value)}, not an array`);
  return value.map((id, index) => {
    if (typeof id !== 'string' || !/^INTEL-SA-\d{5}$/.test(id)) {
      throw new AttestationError(`advisoryIDs[${index}] is ${describeValue(id)}, not an INTEL-SA-nnnnn advisory`);
    }
    return id;
  });
}

/** Reads the report text: exactly the fields IAS API v2 to v4 define, each of its documented type and form. */
export function parseIasReport(text: string): IasReport {
  const fields = parseCompactJsonObject(text);
  for (const name of Object.keys(fields)) {
    if (!KNOWN_REPORT_FIELDS.has(name)) throw new AttestationError(`the report has an unknown field ${JSON.stringify(name)}`);
  }
  for (const name of REQUIRED_REPORT_FIELDS) {
    if (!Object.hasOwn(fields, name)) throw new AttestationError(`the report has no ${name}`);
  }
  const id = asString(fields.id, 'id');
  if (!/^\d+$/.test(id)) throw new AttestationError(`id ${JSON.stringify(id)} is not IAS's decimal report id`);
  const quoteStatus = parseQuoteStatus(fields.isvEnclaveQuoteStatus);
  return {
    id,
    ...parseTimestamp(fields.timestamp),
    version: parseVersion(fields.version),
    quoteStatus,
    quoteBody: canonicalBase64(asString(fields.isvEnclaveQuoteBody, 'isvEnclaveQuoteBody'), 'isvEnclaveQuoteBody'),
    revocationReason: parseRevocationReason(fields.revocationReason, quoteStatus),
    pseManifestStatus: parsePseManifestStatus(fields.pseManifestStatus),
    pseManifestHash: parsePseManifestHash(fields.pseManifestHash),
    platformInfoBlob: parsePlatformInfoBlob(fields.platformInfoBlob),
    nonce: parseNonce(fields.nonce),
    epidPseudonym: parseEpidPseudonym(fields.epidPseudonym),
    advisoryUrl: parseAdvisoryUrl(fields.advisoryURL),
    advisoryIds: parseAdvisoryIds(fields.advisoryIDs),
  };
}

/**
 * Reads isvEnclaveQuoteBody: the sgx_quote_t header (version, signature type, EPID group id, QE and PCE
 * SVNs, extended EPID group id, basename) and the 384-byte enclave report after it.
 */
export function parseEpidQuoteBody(body: Buffer): EpidQuoteBody {
  if (body.length !== QUOTE_BODY_LENGTH) throw new AttestationError(`isvEnclaveQuoteBody has ${body.length} bytes, not ${QUOTE_BODY_LENGTH}`);
  const version = body.readUInt16LE(0);
  if (!EPID_QUOTE_VERSIONS.has(version)) throw new AttestationError(`quote version ${version} is not an EPID quote (1 or 2)`);
  const signatureType = body.readUInt16LE(2);
  if (signatureType !== SIGNATURE_TYPE_UNLINKABLE && signatureType !== SIGNATURE_TYPE_LINKABLE) {
    throw new AttestationError(`quote signature type ${signatureType} is neither unlinkable (0) nor linkable (1)`);
  }
  return {
    version,
    linkable: signatureType === SIGNATURE_TYPE_LINKABLE,
    epidGroupId: body.subarray(4, 8),
    qeSvn: body.readUInt16LE(8),
    pceSvn: body.readUInt16LE(10),
    extendedEpidGroupId: body.readUInt32LE(12),
    basename: body.subarray(16, QUOTE_HEADER_LENGTH),
    report: parseEnclaveReport(body.subarray(QUOTE_HEADER_LENGTH), 'enclave report'),
  };
}

/** The report as text, when its bytes are UTF-8 exactly: bytes a decoder would replace have no one reading. */
function reportText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new AttestationError('the report is not UTF-8 text');
  return text;
}

/** IAS signs with the certificate of the day: a report dated outside its life, or after `at`, is not one IAS wrote then. */
function assertDated(report: IasReport, signingCertificate: X509Certificate, at: Date): void {
  const atMicros = at.getTime() * 1000;
  if (report.timestampMicros > atMicros) throw new AttestationError(`the report is dated ${report.timestamp}, after the verification time ${at.toISOString()}`);
  const certifiedFrom = new Date(signingCertificate.validFrom);
  if (report.timestampMicros < certifiedFrom.getTime() * 1000) {
    throw new AttestationError(`the report is dated ${report.timestamp}, before its signing certificate was valid (${certifiedFrom.toISOString()})`);
  }
}

/** IAS gives the pseudonym only for linkable quotes: one next to an unlinkable quote was not written for it. */
function assertPseudonymFits(report: IasReport, quote: EpidQuoteBody): void {
  if (report.epidPseudonym && !quote.linkable) throw new AttestationError('epidPseudonym is given for an unlinkable quote');
}

/**
 * What each quote status means for the verdict. Statuses where IAS verified the EPID signature map to
 * the DCAP status of the same meaning and leave the judgement to policy. Revocation of the group, of
 * the platform's key (private key revocation list) or of its signatures (signature revocation list)
 * means the platform may no longer attest: Revoked, and refused, as a Revoked DCAP TCB is. An invalid
 * EPID signature means the quote is not genuine, and a SigRL version mismatch means IAS could not check
 * signature revocation at all: neither says anything about the TCB, so both are refused without one.
 */
const QUOTE_STATUS_JUDGEMENTS: Readonly<Record<IasQuoteStatus, { tcbStatus: TcbStatus; refusal?: string }>> = {
  OK: { tcbStatus: 'UpToDate' },
  SW_HARDENING_NEEDED: { tcbStatus: 'SWHardeningNeeded' },
  CONFIGURATION_NEEDED: { tcbStatus: 'ConfigurationNeeded' },
  CONFIGURATION_AND_SW_HARDENING_NEEDED: { tcbStatus: 'ConfigurationAndSWHardeningNeeded' },
  GROUP_OUT_OF_DATE: { tcbStatus: 'OutOfDate' },
  GROUP_REVOKED: { tcbStatus: 'Revoked', refusal: "IAS reports the platform's EPID group revoked (GROUP_REVOKED)" },
  KEY_REVOKED: { tcbStatus: 'Revoked', refusal: "IAS reports the platform's EPID private key revoked (KEY_REVOKED)" },
  SIGNATURE_REVOKED: { tcbStatus: 'Revoked', refusal: "IAS reports the quote's EPID signature revoked (SIGNATURE_REVOKED)" },
  SIGNATURE_INVALID: { tcbStatus: 'NotApplicable', refusal: "IAS found the quote's EPID signature invalid (SIGNATURE_INVALID): the quote is not genuine" },
  SIGRL_VERSION_MISMATCH: {
    tcbStatus: 'NotApplicable',
    refusal: 'the quote was made against an outdated signature revocation list (SIGRL_VERSION_MISMATCH): IAS could not check revocation',
  },
};

function reportEvidence(verdict: Verdict, report: IasReport, quote: EpidQuoteBody): void {
  const hex = (bytes: Buffer) => bytes.toString('hex');
  const enclave = quote.report;
  verdict.measurement = hex(enclave.mrEnclave);
  verdict.measurements = {
    mrEnclave: hex(enclave.mrEnclave),
    mrSigner: hex(enclave.mrSigner),
    isvProdId: String(enclave.isvProdId),
    isvSvn: String(enclave.isvSvn),
  };
  verdict.signer = hex(enclave.mrSigner);
  verdict.reportData = hex(enclave.reportData);
  verdict.debug = ((enclave.attributes[0] as number) & DEBUG_ATTRIBUTE) !== 0;
  verdict.advisoryIds = report.advisoryIds;
  verdict.producedAt = new Date(Math.floor(report.timestampMicros / 1000)).toISOString();
  Object.assign(verdict.details, {
    endOfLife: true,
    endOfLifeNote: IAS_END_OF_LIFE_NOTE,
    quoteStatus: report.quoteStatus,
    reportId: report.id,
    reportTimestamp: report.timestamp,
    ...(report.version !== undefined ? { reportVersion: report.version } : {}),
    quoteVersion: quote.version,
    signatureType: quote.linkable ? 'linkable' : 'unlinkable',
    // The group id is a little-endian integer; IAS and the SigRL endpoint name it by its big-endian hex.
    epidGroupId: hex(Buffer.from(quote.epidGroupId).reverse()),
    extendedEpidGroupId: quote.extendedEpidGroupId,
    qeSvn: quote.qeSvn,
    pceSvn: quote.pceSvn,
    basename: hex(quote.basename),
    attributes: hex(enclave.attributes),
    miscSelect: hex(enclave.miscSelect),
    cpuSvn: hex(enclave.cpuSvn),
    configId: hex(enclave.configId),
    configSvn: enclave.configSvn,
    isvExtProdId: hex(enclave.isvExtProdId),
    isvFamilyId: hex(enclave.isvFamilyId),
    ...(report.nonce !== undefined ? { nonce: report.nonce } : {}),
    ...(report.epidPseudonym ? { epidPseudonym: report.epidPseudonym.toString('base64') } : {}),
    ...(report.platformInfoBlob !== undefined ? { platformInfoBlob: report.platformInfoBlob } : {}),
    ...(report.advisoryUrl !== undefined ? { advisoryUrl: report.advisoryUrl } : {}),
    ...(report.revocationReason !== undefined ? { revocationReason: report.revocationReason } : {}),
    ...(report.pseManifestStatus !== undefined ? { pseManifestStatus: report.pseManifestStatus } : {}),
    ...(report.pseManifestHash !== undefined ? { pseManifestHash: report.pseManifestHash } : {}),
  });
}

/**
 * Judges IAS evidence at `options.at`. The chain and the signature come first, so nothing the report
 * says reaches the verdict before Intel is known to have said it; then the report and its quote body are
 * read strictly, the report's date is checked against `at` and the signing certificate, and last the
 * quote status decides (see QUOTE_STATUS_JUDGEMENTS), with what was read kept in the verdict.
 */
export function verifyIasReport(evidence: IasEvidence, options: IasVerifyOptions): Verdict {
  return judge('ias', options.at, (verdict) => {
    const signingCertificate = trustedSigningCertificate(evidence.signingChain, options.roots ?? [INTEL_IAS_ROOT], options.at);
    assertSignedByIas(evidence, signingCertificate);
    const report = parseIasReport(reportText(evidence.report));
    assertDated(report, signingCertificate, options.at);
    const quote = parseEpidQuoteBody(report.quoteBody);
    assertPseudonymFits(report, quote);
    reportEvidence(verdict, report, quote);
    const judgement = QUOTE_STATUS_JUDGEMENTS[report.quoteStatus];
    verdict.tcbStatus = judgement.tcbStatus;
    if (judgement.refusal) throw new AttestationError(judgement.refusal);
  });
}
