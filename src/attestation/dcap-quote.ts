/**
 * Reading Intel DCAP evidence: quotes (SGX v3/v4/v5, TDX v4/v5), the SGX extension of the PCK certificate
 * they carry, and the signed JSON collateral (TCB info, QE identity), field by field as Intel documents
 * them. Only the quote header and body are
 * covered by the quote signature; the rest (attestation key, QE report, its signature, QE auth data and
 * the PCK chain) is checked by structure: every length exact, every reserved byte zero, the PEM chain
 * in its one canonical form, nothing after the signature data but zero padding. So no byte of a quote can
 * change without the quote being refused.
 */
import { X509Certificate } from 'node:crypto';
import { certificateExtensions, children, decodeOid, decodeSmallInteger, DerError, parseDer, TAG, type DerNode } from './der.js';
import { AttestationError, TCB_STATUSES } from './verdict.js';

export type DcapTee = 'sgx' | 'tdx';

const TEE_TYPE_SGX = 0x00000000;
const TEE_TYPE_TDX = 0x00000081;
const ATTESTATION_KEY_ECDSA_P256 = 2;
/** Intel's QE vendor ID (939A7233-F79C-4CA9-940A-0DB3957F0607): quotes from any other quoting enclave are not Intel DCAP quotes. */
const INTEL_QE_VENDOR_ID = Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex');

const HEADER_LENGTH = 48;
const BODY_DESCRIPTOR_LENGTH = 6;
const ENCLAVE_REPORT_LENGTH = 384;
const TD_REPORT_10_LENGTH = 584;
const TD_REPORT_15_LENGTH = 648;
const ECDSA_P256_SIGNATURE_LENGTH = 64;
const ECDSA_P256_KEY_LENGTH = 64;

/** Quote v5 body descriptor types. */
const BODY_TYPE_SGX = 1;
const BODY_TYPE_TD_REPORT_10 = 2;
const BODY_TYPE_TD_REPORT_15 = 3;

/** The v5 body types each TEE may carry, and their lengths. */
const BODY_LENGTHS: Record<DcapTee, ReadonlyMap<number, number>> = {
  sgx: new Map([[BODY_TYPE_SGX, ENCLAVE_REPORT_LENGTH]]),
  tdx: new Map([
    [BODY_TYPE_TD_REPORT_10, TD_REPORT_10_LENGTH],
    [BODY_TYPE_TD_REPORT_15, TD_REPORT_15_LENGTH],
  ]),
};

/** Certification data types: the PEM PCK chain, and (v4/v5) the QE report certification data that nests it. */
const CERTIFICATION_PCK_CHAIN = 5;
const CERTIFICATION_QE_REPORT = 6;

export interface QuoteHeader {
  version: 3 | 4 | 5;
  teeType: number;
  /** Bytes 8-9 and 10-11: QE SVN and PCE SVN in SGX quotes, zero in TDX ones; signed, reported as read. */
  qeSvn: number;
  pceSvn: number;
  /** The first 16 bytes of user data identify the platform's QE (QE ID). */
  userData: Buffer;
}

/** An SGX REPORT body (the enclave's in SGX quotes, the QE's in every quote). */
export interface EnclaveReport {
  cpuSvn: Buffer;
  miscSelect: Buffer;
  isvExtProdId: Buffer;
  attributes: Buffer;
  mrEnclave: Buffer;
  mrSigner: Buffer;
  configId: Buffer;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: Buffer;
  reportData: Buffer;
  /** The 384 bytes as they were signed. */
  raw: Buffer;
}

/** A TD report body: TDX 1.0 fields, plus TEE_TCB_SVN_2 and MRSERVICETD for TDX 1.5 (v5 body type 3). */
export interface TdReport {
  teeTcbSvn: Buffer;
  mrSeam: Buffer;
  mrSignerSeam: Buffer;
  seamAttributes: Buffer;
  tdAttributes: Buffer;
  xfam: Buffer;
  mrTd: Buffer;
  mrConfigId: Buffer;
  mrOwner: Buffer;
  mrOwnerConfig: Buffer;
  rtmrs: [Buffer, Buffer, Buffer, Buffer];
  reportData: Buffer;
  tdx15?: { teeTcbSvn2: Buffer; mrServiceTd: Buffer };
}

export type QuoteBody = { tee: 'sgx'; report: EnclaveReport } | { tee: 'tdx'; report: TdReport };

export interface DcapQuote {
  header: QuoteHeader;
  /** v5 only: the body descriptor's type (1 SGX, 2 TDX 1.0, 3 TDX 1.5). */
  bodyType: number | undefined;
  body: QuoteBody;
  /** Header, v5 body descriptor and body: what the attestation key signed. */
  signedBytes: Buffer;
  /** r‖s, 32 bytes each. */
  signature: Buffer;
  /** The attestation key's P-256 point, x‖y. */
  attestationKey: Buffer;
  qeReport: EnclaveReport;
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  /** PCK certificate, PCK CA, root: as the quote carries them. */
  pckChain: X509Certificate[];
  /** Zero bytes after the signature data (quote buffers are handed out zero-padded). */
  paddingLength: number;
}

/** A cursor over the quote that refuses to read past its end and names what it was reading. */
class QuoteReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}

  take(length: number, what: string): Buffer {
    if (this.offset + length > this.bytes.length) {
      throw new AttestationError(`quote is truncated: ${what} needs ${length} bytes at offset ${this.offset}, ${this.bytes.length - this.offset} remain`);
    }
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  u16(what: string): number {
    return this.take(2, what).readUInt16LE(0);
  }

  u32(what: string): number {
    return this.take(4, what).readUInt32LE(0);
  }

  get position(): number {
    return this.offset;
  }

  rest(): Buffer {
    return this.bytes.subarray(this.offset);
  }

  /** The part a length field announces, read by its own cursor so it cannot spill into what follows. */
  sub(length: number, what: string): QuoteReader {
    return new QuoteReader(this.take(length, what));
  }

  expectEnd(what: string): void {
    if (this.offset !== this.bytes.length) throw new AttestationError(`${what} has ${this.bytes.length - this.offset} bytes beyond its content`);
  }
}

function requireZero(bytes: Buffer, what: string): void {
  if (bytes.some((byte) => byte !== 0)) throw new AttestationError(`${what} is reserved and must be zero`);
}

/** Reads an SGX REPORT body; the reserved fields must be zero (they are on every SGX CPU). */
export function parseEnclaveReport(raw: Buffer, what: string): EnclaveReport {
  const reader = new QuoteReader(raw);
  const cpuSvn = reader.take(16, 'CPUSVN');
  const miscSelect = reader.take(4, 'MISCSELECT');
  requireZero(reader.take(12, 'reserved'), `${what} bytes 20-31`);
  const isvExtProdId = reader.take(16, 'ISVEXTPRODID');
  const attributes = reader.take(16, 'ATTRIBUTES');
  const mrEnclave = reader.take(32, 'MRENCLAVE');
  requireZero(reader.take(32, 'reserved'), `${what} bytes 96-127`);
  const mrSigner = reader.take(32, 'MRSIGNER');
  requireZero(reader.take(32, 'reserved'), `${what} bytes 160-191`);
  const configId = reader.take(64, 'CONFIGID');
  const isvProdId = reader.u16('ISVPRODID');
  const isvSvn = reader.u16('ISVSVN');
  const configSvn = reader.u16('CONFIGSVN');
  requireZero(reader.take(42, 'reserved'), `${what} bytes 262-303`);
  const isvFamilyId = reader.take(16, 'ISVFAMILYID');
  const reportData = reader.take(64, 'REPORTDATA');
  reader.expectEnd(what);
  return { cpuSvn, miscSelect, isvExtProdId, attributes, mrEnclave, mrSigner, configId, isvProdId, isvSvn, configSvn, isvFamilyId, reportData, raw };
}

function parseTdReport(raw: Buffer): TdReport {
  const reader = new QuoteReader(raw);
  const report: TdReport = {
    teeTcbSvn: reader.take(16, 'TEE_TCB_SVN'),
    mrSeam: reader.take(48, 'MRSEAM'),
    mrSignerSeam: reader.take(48, 'MRSIGNERSEAM'),
    seamAttributes: reader.take(8, 'SEAMATTRIBUTES'),
    tdAttributes: reader.take(8, 'TDATTRIBUTES'),
    xfam: reader.take(8, 'XFAM'),
    mrTd: reader.take(48, 'MRTD'),
    mrConfigId: reader.take(48, 'MRCONFIGID'),
    mrOwner: reader.take(48, 'MROWNER'),
    mrOwnerConfig: reader.take(48, 'MROWNERCONFIG'),
    rtmrs: [reader.take(48, 'RTMR0'), reader.take(48, 'RTMR1'), reader.take(48, 'RTMR2'), reader.take(48, 'RTMR3')],
    reportData: reader.take(64, 'REPORTDATA'),
  };
  if (raw.length === TD_REPORT_15_LENGTH) report.tdx15 = { teeTcbSvn2: reader.take(16, 'TEE_TCB_SVN_2'), mrServiceTd: reader.take(48, 'MRSERVICETD') };
  reader.expectEnd('TD report');
  return report;
}

function parseHeader(reader: QuoteReader): QuoteHeader {
  const version = reader.u16('version');
  if (version !== 3 && version !== 4 && version !== 5) throw new AttestationError(`quote version ${version} is not supported (3, 4 or 5)`);
  const keyType = reader.u16('attestation key type');
  if (keyType !== ATTESTATION_KEY_ECDSA_P256) throw new AttestationError(`attestation key type ${keyType} is not supported (2: ECDSA P-256)`);
  const teeType = reader.u32('TEE type');
  if (teeType !== TEE_TYPE_SGX && teeType !== TEE_TYPE_TDX) throw new AttestationError(`TEE type 0x${teeType.toString(16)} is neither SGX (0) nor TDX (0x81)`);
  if (version === 3 && teeType !== TEE_TYPE_SGX) throw new AttestationError('quote version 3 carries SGX quotes only');
  const qeSvn = reader.u16('QE SVN');
  const pceSvn = reader.u16('PCE SVN');
  const vendor = reader.take(16, 'QE vendor ID');
  if (!vendor.equals(INTEL_QE_VENDOR_ID)) throw new AttestationError(`QE vendor ID ${vendor.toString('hex')} is not Intel's`);
  const userData = reader.take(20, 'user data');
  return { version, teeType, qeSvn, pceSvn, userData };
}

function parseBody(reader: QuoteReader, header: QuoteHeader): { bodyType: number | undefined; body: QuoteBody } {
  const sgx = header.teeType === TEE_TYPE_SGX;
  if (header.version !== 5) {
    return sgx
      ? { bodyType: undefined, body: { tee: 'sgx', report: parseEnclaveReport(reader.take(ENCLAVE_REPORT_LENGTH, 'enclave report'), 'enclave report') } }
      : { bodyType: undefined, body: { tee: 'tdx', report: parseTdReport(reader.take(TD_REPORT_10_LENGTH, 'TD report')) } };
  }
  const bodyType = reader.u16('body type');
  const bodySize = reader.u32('body size');
  const length = BODY_LENGTHS[sgx ? 'sgx' : 'tdx'].get(bodyType);
  if (length === undefined) throw new AttestationError(`body type ${bodyType} does not belong in a ${sgx ? 'SGX' : 'TDX'} quote`);
  if (bodySize !== length) throw new AttestationError(`body type ${bodyType} is ${length} bytes, the quote says ${bodySize}`);
  const raw = reader.take(length, 'quote body');
  return sgx
    ? { bodyType, body: { tee: 'sgx', report: parseEnclaveReport(raw, 'enclave report') } }
    : { bodyType, body: { tee: 'tdx', report: parseTdReport(raw) } };
}

/**
 * Reads PEM certificates from text that holds nothing else: blocks may be separated and wrapped by any
 * whitespace (collateral comes from PCCS servers that differ in that), but the base64 must be the DER's
 * own, and no other text may sit between or around the blocks.
 */
export function parsePemCertificates(text: string, what: string): X509Certificate[] {
  const block = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;
  const certificates = [...text.matchAll(block)].map((match, index) => {
    const base64 = (match[1] as string).replace(/\s/g, '');
    const der = Buffer.from(base64, 'base64');
    if (der.toString('base64') !== base64) throw new AttestationError(`${what}: certificate ${index + 1} is not canonical base64`);
    return certificateFromDer(der, `${what}: certificate ${index + 1}`);
  });
  if (certificates.length === 0) throw new AttestationError(`${what} holds no PEM certificate`);
  if (text.replace(block, '').trim() !== '') throw new AttestationError(`${what} holds text that is not a certificate`);
  return certificates;
}

/**
 * Reads the quote's PEM chain, which must be its certificates in the one layout Intel's quoting library
 * writes: 64-character lines, each block ending in a newline, then one NUL (the library writes a C
 * string). Any other byte there would be a byte no check depends on.
 */
export function parseCanonicalPemChain(bytes: Buffer, what: string): X509Certificate[] {
  const text = (bytes.length > 0 && bytes[bytes.length - 1] === 0 ? bytes.subarray(0, -1) : bytes).toString('latin1');
  const certificates = parsePemCertificates(text, what);
  if (certificates.map((certificate) => pemOf(certificate.raw)).join('') !== text) {
    throw new AttestationError(`${what} is not exactly its certificates in canonical PEM`);
  }
  return certificates;
}

/** One DER certificate and nothing after it (OpenSSL would read past trailing bytes without a word). */
function certificateFromDer(der: Buffer, what: string): X509Certificate {
  try {
    parseDer(der);
    return new X509Certificate(der);
  } catch (error) {
    throw new AttestationError(`${what} cannot be read: ${(error as Error).message}`);
  }
}

function pemOf(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

interface QeCertification {
  qeReport: EnclaveReport;
  qeReportSignature: Buffer;
  qeAuthData: Buffer;
  pckChain: X509Certificate[];
}

/** QE report, its signature, QE auth data and the PCK chain: v3 lays them out inline, v4/v5 in type-6 certification data. */
function parseQeCertification(reader: QuoteReader): QeCertification {
  const qeReport = parseEnclaveReport(reader.take(ENCLAVE_REPORT_LENGTH, 'QE report'), 'QE report');
  const qeReportSignature = reader.take(ECDSA_P256_SIGNATURE_LENGTH, 'QE report signature');
  const qeAuthData = reader.take(reader.u16('QE auth data size'), 'QE auth data');
  const type = reader.u16('certification data type');
  if (type !== CERTIFICATION_PCK_CHAIN) throw new AttestationError(`certification data type ${type} is not supported (5: PCK certificate chain)`);
  const chain = reader.take(reader.u32('certification data size'), 'PCK certificate chain');
  reader.expectEnd('QE certification data');
  return { qeReport, qeReportSignature, qeAuthData, pckChain: parseCanonicalPemChain(chain, 'the PCK certificate chain') };
}

/** Parses a DCAP quote strictly; throws AttestationError naming the first thing that is not as Intel's format says. */
export function parseDcapQuote(quote: Buffer): DcapQuote {
  const reader = new QuoteReader(quote);
  const header = parseHeader(reader);
  const { bodyType, body } = parseBody(reader, header);
  const signedBytes = quote.subarray(0, reader.position);
  const signatureData = reader.sub(reader.u32('signature data size'), 'signature data');
  const signature = signatureData.take(ECDSA_P256_SIGNATURE_LENGTH, 'quote signature');
  const attestationKey = signatureData.take(ECDSA_P256_KEY_LENGTH, 'attestation key');
  let certification: QeCertification;
  if (header.version === 3) {
    certification = parseQeCertification(signatureData);
  } else {
    const type = signatureData.u16('certification data type');
    if (type !== CERTIFICATION_QE_REPORT) throw new AttestationError(`certification data type ${type} is not supported (6: QE report certification data)`);
    certification = parseQeCertification(signatureData.sub(signatureData.u32('certification data size'), 'QE report certification data'));
  }
  signatureData.expectEnd('the signature data');
  const padding = reader.rest();
  if (padding.some((byte) => byte !== 0)) throw new AttestationError(`the ${padding.length} bytes after the signature data are not zero padding`);
  return { header, bodyType, body, signedBytes, signature, attestationKey, ...certification, paddingLength: padding.length };
}

/** The TEE a quote is for, read from its header without parsing the rest (to name a verdict before judging). */
export function quoteTee(quote: Buffer): DcapTee {
  return quote.length >= 8 && quote.readUInt32LE(4) === TEE_TYPE_TDX ? 'tdx' : 'sgx';
}

const SGX_EXTENSION = '1.2.840.113741.1.13.1';
const SGX_OIDS = {
  ppid: `${SGX_EXTENSION}.1`,
  tcb: `${SGX_EXTENSION}.2`,
  pceId: `${SGX_EXTENSION}.3`,
  fmspc: `${SGX_EXTENSION}.4`,
  sgxType: `${SGX_EXTENSION}.5`,
  pceSvn: `${SGX_EXTENSION}.2.17`,
  cpuSvn: `${SGX_EXTENSION}.2.18`,
} as const;
const SGX_TYPES = ['Standard', 'Scalable', 'ScalableWithIntegrity'] as const;

/** What Intel writes into a PCK certificate about the platform: its TCB and where its TCB info is filed. */
export interface PckExtension {
  ppid: Buffer;
  /** The 16 SGX TCB component SVNs (what TCB levels are matched against). */
  sgxComponents: number[];
  pceSvn: number;
  cpuSvn: Buffer;
  pceId: Buffer;
  fmspc: Buffer;
  sgxType: (typeof SGX_TYPES)[number];
}

/** SEQUENCE OF SEQUENCE { OID, value }, each OID once, as a map. */
function oidValueMap(node: DerNode, what: string): Map<string, DerNode> {
  const entries = new Map<string, DerNode>();
  for (const entry of children(node)) {
    const [oid, value, ...extra] = children(entry);
    if (!oid || !value || extra.length > 0) throw new AttestationError(`${what}: an entry is not an OID and a value`);
    const name = decodeOid(oid);
    if (entries.has(name)) throw new AttestationError(`${what}: ${name} appears twice`);
    entries.set(name, value);
  }
  return entries;
}

function required(entries: Map<string, DerNode>, oid: string, tag: number, what: string): DerNode {
  const node = entries.get(oid);
  if (!node || node.tag !== tag) throw new AttestationError(`PCK certificate: ${what} (${oid}) is missing or not of the right type`);
  return node;
}

function octets(entries: Map<string, DerNode>, oid: string, length: number, what: string): Buffer {
  const value = required(entries, oid, TAG.OCTET_STRING, what).value;
  if (value.length !== length) throw new AttestationError(`PCK certificate: ${what} is ${value.length} bytes, not ${length}`);
  return value;
}

function svn(entries: Map<string, DerNode>, oid: string, maximum: number, what: string): number {
  const value = decodeSmallInteger(required(entries, oid, TAG.INTEGER, what));
  if (value > maximum) throw new AttestationError(`PCK certificate: ${what} ${value} is out of range`);
  return value;
}

/** Reads the SGX extension (OID 1.2.840.113741.1.13.1) of a PCK certificate. */
export function readPckExtension(certificate: X509Certificate): PckExtension {
  try {
    const extension = certificateExtensions(certificate.raw).find((candidate) => candidate.oid === SGX_EXTENSION);
    if (!extension) throw new AttestationError('PCK certificate has no SGX extension');
    const entries = oidValueMap(parseDer(extension.value), 'SGX extension');
    const tcb = oidValueMap(required(entries, SGX_OIDS.tcb, TAG.SEQUENCE, 'TCB'), 'SGX TCB');
    const sgxComponents = Array.from({ length: 16 }, (_, index) => svn(tcb, `${SGX_OIDS.tcb}.${index + 1}`, 255, `SGX TCB component ${index + 1}`));
    const sgxType = SGX_TYPES[decodeSmallInteger(required(entries, SGX_OIDS.sgxType, TAG.ENUMERATED, 'SGX type'))];
    if (!sgxType) throw new AttestationError('PCK certificate: unknown SGX type');
    return {
      ppid: octets(entries, SGX_OIDS.ppid, 16, 'PPID'),
      sgxComponents,
      pceSvn: svn(tcb, SGX_OIDS.pceSvn, 0xffff, 'PCESVN'),
      cpuSvn: octets(tcb, SGX_OIDS.cpuSvn, 16, 'CPUSVN'),
      pceId: octets(entries, SGX_OIDS.pceId, 2, 'PCE-ID'),
      fmspc: octets(entries, SGX_OIDS.fmspc, 6, 'FMSPC'),
      sgxType,
    };
  } catch (error) {
    if (error instanceof DerError) throw new AttestationError(`PCK certificate's SGX extension cannot be read: ${error.message}`);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------
// Signed JSON collateral: the fields Intel's TCB info v3 and enclave identity v2 define.

type JsonObject = Record<string, unknown>;

function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AttestationError(`${what} is not an object`);
  return value as JsonObject;
}

function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new AttestationError(`${what} is not an array`);
  return value;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new AttestationError(`${what} is not a string`);
  return value;
}

function asInteger(value: unknown, maximum: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > maximum) throw new AttestationError(`${what} is not an integer from 0 to ${maximum}`);
  return value;
}

function asHex(value: unknown, length: number, what: string): Buffer {
  const text = asString(value, what);
  if (text.length !== length * 2 || !/^[0-9a-fA-F]*$/.test(text)) throw new AttestationError(`${what} is not ${length} bytes of hex`);
  return Buffer.from(text, 'hex');
}

function asDate(value: unknown, what: string): Date {
  const text = asString(value, what);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(text) || Number.isNaN(Date.parse(text))) throw new AttestationError(`${what} is not an ISO 8601 UTC time`);
  return new Date(text);
}

function asAdvisoryIds(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  return asArray(value, what).map((item) => asString(item, what));
}

export type IntelTcbStatus = (typeof TCB_STATUSES)[number];
/** TDX module and QE levels only ever say one of these. */
export type IdentityStatus = 'UpToDate' | 'OutOfDate' | 'Revoked';
const IDENTITY_STATUSES: readonly IdentityStatus[] = ['UpToDate', 'OutOfDate', 'Revoked'];

function asStatus<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (!allowed.includes(value as T)) throw new AttestationError(`${what} ${JSON.stringify(value)} is not a status Intel defines here`);
  return value as T;
}

function parseSignedJson(text: string, what: string): JsonObject {
  try {
    return asObject(JSON.parse(text), what);
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    throw new AttestationError(`${what} is not JSON`);
  }
}

export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  tdxComponents: number[];
  tcbDate: string;
  status: IntelTcbStatus;
  advisoryIds: string[];
}

export interface IdentityLevel {
  isvSvn: number;
  tcbDate: string;
  status: IdentityStatus;
  advisoryIds: string[];
}

export interface TdxModuleIdentity {
  id: string;
  mrSigner: Buffer;
  attributes: Buffer;
  attributesMask: Buffer;
  levels: IdentityLevel[];
}

export interface TcbInfo {
  id: 'SGX' | 'TDX';
  issueDate: Date;
  nextUpdate: Date;
  fmspc: Buffer;
  pceId: Buffer;
  tcbEvaluationDataNumber: number;
  tdxModule: Omit<TdxModuleIdentity, 'id' | 'levels'> | undefined;
  tdxModuleIdentities: TdxModuleIdentity[];
  levels: TcbLevel[];
}

export interface QeIdentity {
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscSelect: Buffer;
  miscSelectMask: Buffer;
  attributes: Buffer;
  attributesMask: Buffer;
  mrSigner: Buffer;
  isvProdId: number;
  levels: IdentityLevel[];
}

function parseComponents(value: unknown, what: string): number[] {
  const components = asArray(value, what);
  if (components.length !== 16) throw new AttestationError(`${what} has ${components.length} components, not 16`);
  return components.map((component, index) => asInteger(asObject(component, `${what}[${index}]`).svn, 255, `${what}[${index}].svn`));
}

function parseTcbLevel(value: unknown, tdx: boolean, what: string): TcbLevel {
  const level = asObject(value, what);
  const tcb = asObject(level.tcb, `${what}.tcb`);
  return {
    sgxComponents: parseComponents(tcb.sgxtcbcomponents, `${what}.tcb.sgxtcbcomponents`),
    pceSvn: asInteger(tcb.pcesvn, 0xffff, `${what}.tcb.pcesvn`),
    tdxComponents: tdx ? parseComponents(tcb.tdxtcbcomponents, `${what}.tcb.tdxtcbcomponents`) : [],
    tcbDate: asDate(level.tcbDate, `${what}.tcbDate`).toISOString(),
    status: asStatus(level.tcbStatus, TCB_STATUSES, `${what}.tcbStatus`),
    advisoryIds: asAdvisoryIds(level.advisoryIDs, `${what}.advisoryIDs`),
  };
}

function parseIdentityLevels(value: unknown, what: string): IdentityLevel[] {
  const levels = asArray(value, what).map((item, index) => {
    const level = asObject(item, `${what}[${index}]`);
    return {
      isvSvn: asInteger(asObject(level.tcb, `${what}[${index}].tcb`).isvsvn, 0xffff, `${what}[${index}].tcb.isvsvn`),
      tcbDate: asDate(level.tcbDate, `${what}[${index}].tcbDate`).toISOString(),
      status: asStatus(level.tcbStatus, IDENTITY_STATUSES, `${what}[${index}].tcbStatus`),
      advisoryIds: asAdvisoryIds(level.advisoryIDs, `${what}[${index}].advisoryIDs`),
    };
  });
  if (levels.length === 0) throw new AttestationError(`${what} is empty`);
  return levels;
}

function parseModuleIdentity(value: unknown, what: string, withLevels: boolean): TdxModuleIdentity {
  const identity = asObject(value, what);
  return {
    id: withLevels ? asString(identity.id, `${what}.id`) : '',
    mrSigner: asHex(identity.mrsigner, 48, `${what}.mrsigner`),
    attributes: asHex(identity.attributes, 8, `${what}.attributes`),
    attributesMask: asHex(identity.attributesMask, 8, `${what}.attributesMask`),
    levels: withLevels ? parseIdentityLevels(identity.tcbLevels, `${what}.tcbLevels`) : [],
  };
}

/** Reads Intel's TCB info v3 (SGX or TDX) once its signature has been verified. */
export function parseTcbInfo(text: string): TcbInfo {
  const info = parseSignedJson(text, 'TCB info');
  const id = info.id;
  if (id !== 'SGX' && id !== 'TDX') throw new AttestationError(`TCB info id ${JSON.stringify(id)} is neither SGX nor TDX`);
  if (info.version !== 3) throw new AttestationError(`TCB info version ${JSON.stringify(info.version)} is not supported (3)`);
  if (info.tcbType !== 0) throw new AttestationError(`TCB info tcbType ${JSON.stringify(info.tcbType)} is not supported (0)`);
  const tdx = id === 'TDX';
  const levels = asArray(info.tcbLevels, 'TCB info tcbLevels').map((level, index) => parseTcbLevel(level, tdx, `TCB info tcbLevels[${index}]`));
  if (levels.length === 0) throw new AttestationError('TCB info has no TCB level');
  return {
    id,
    issueDate: asDate(info.issueDate, 'TCB info issueDate'),
    nextUpdate: asDate(info.nextUpdate, 'TCB info nextUpdate'),
    fmspc: asHex(info.fmspc, 6, 'TCB info fmspc'),
    pceId: asHex(info.pceId, 2, 'TCB info pceId'),
    tcbEvaluationDataNumber: asInteger(info.tcbEvaluationDataNumber, Number.MAX_SAFE_INTEGER, 'TCB info tcbEvaluationDataNumber'),
    tdxModule: tdx ? parseModuleIdentity(info.tdxModule, 'TCB info tdxModule', false) : undefined,
    tdxModuleIdentities:
      tdx && info.tdxModuleIdentities !== undefined
        ? asArray(info.tdxModuleIdentities, 'TCB info tdxModuleIdentities').map((item, index) => parseModuleIdentity(item, `TCB info tdxModuleIdentities[${index}]`, true))
        : [],
    levels,
  };
}

/** Reads Intel's enclave identity v2 of the QE (SGX) or TD QE (TDX) once its signature has been verified. */
export function parseQeIdentity(text: string, expectedId: 'QE' | 'TD_QE'): QeIdentity {
  const identity = parseSignedJson(text, 'QE identity');
  if (identity.id !== expectedId) throw new AttestationError(`QE identity id ${JSON.stringify(identity.id)} is not ${expectedId}, the quoting enclave of this TEE`);
  if (identity.version !== 2) throw new AttestationError(`QE identity version ${JSON.stringify(identity.version)} is not supported (2)`);
  return {
    issueDate: asDate(identity.issueDate, 'QE identity issueDate'),
    nextUpdate: asDate(identity.nextUpdate, 'QE identity nextUpdate'),
    tcbEvaluationDataNumber: asInteger(identity.tcbEvaluationDataNumber, Number.MAX_SAFE_INTEGER, 'QE identity tcbEvaluationDataNumber'),
    miscSelect: asHex(identity.miscselect, 4, 'QE identity miscselect'),
    miscSelectMask: asHex(identity.miscselectMask, 4, 'QE identity miscselectMask'),
    attributes: asHex(identity.attributes, 16, 'QE identity attributes'),
    attributesMask: asHex(identity.attributesMask, 16, 'QE identity attributesMask'),
    mrSigner: asHex(identity.mrsigner, 32, 'QE identity mrsigner'),
    isvProdId: asInteger(identity.isvprodid, 0xffff, 'QE identity isvprodid'),
    levels: parseIdentityLevels(identity.tcbLevels, 'QE identity tcbLevels'),
  };
}
