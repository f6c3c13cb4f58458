/**
 * Intel DCAP quote verification (SGX and TDX) against Intel's collateral, on node:crypto alone. It owns
 * the collateral's shape, the order of Intel's checks (PCK chain and CRLs, TCB info, QE identity, QE
 * report, quote signature, TCB level) and how the TCB statuses of platform, TDX module and QE combine,
 * following Intel's Quote Verification Library. The quote's bytes are read in dcap-quote.ts. Nothing
 * here reads the clock: the caller gives the time, and collateral not current at that time is refused.
 */
import crypto, { X509Certificate } from 'node:crypto';
import {
  parseDcapQuote,
  parsePemCertificates,
  parseQeIdentity,
  parseTcbInfo,
  quoteTee,
  readPckExtension,
  type DcapQuote,
  type DcapTee,
  type EnclaveReport,
  type IdentityLevel,
  type IdentityStatus,
  type IntelTcbStatus,
  type PckExtension,
  type QeIdentity,
  type TcbInfo,
  type TcbLevel,
  type TdReport,
  type TdxModuleIdentity,
} from './dcap-quote.js';
import { INTEL_SGX_ROOT_CA } from './roots.js';
import { AttestationError, judge, type TcbStatus, type Verdict } from './verdict.js';
import { certificateIdentity, checkCrl, parseCrl, verifyChain, type Crl } from './x509.js';

export { parseDcapQuote, readPckExtension, type DcapQuote, type DcapTee, type PckExtension } from './dcap-quote.js';

/** Intel's collateral JSON as PCCS/PCS serve it (the field names of Intel's sgx_ql_qve_collateral_t). */
export interface DcapCollateral {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
}

export interface DcapVerifyOptions {
  /** The time to judge the quote and its collateral at; never read from a clock here. */
  at: Date;
  /** Pinned roots every chain must reach; Intel's SGX Root CA by default. */
  roots?: readonly X509Certificate[];
}

/** What a PCCS client asks for to fetch a quote's collateral. */
export interface DcapCollateralRequest {
  teeType: DcapTee;
  /** Lowercase hex, 6 bytes. */
  fmspc: string;
  /** Which PCK CA issued the PCK certificate (the PCK CRL to fetch). */
  ca: 'processor' | 'platform';
}

const COLLATERAL_FIELDS = [
  'pck_crl_issuer_chain',
  'root_ca_crl',
  'pck_crl',
  'tcb_info_issuer_chain',
  'tcb_info',
  'tcb_info_signature',
  'qe_identity_issuer_chain',
  'qe_identity',
  'qe_identity_signature',
] as const;

const CN = {
  pck: 'Intel SGX PCK Certificate',
  platformCa: 'Intel SGX PCK Platform CA',
  processorCa: 'Intel SGX PCK Processor CA',
  tcbSigning: 'Intel SGX TCB Signing',
} as const;

/** Checks the collateral's shape: exactly Intel's nine fields, each a string, the signatures hex r‖s. */
export function parseDcapCollateral(json: unknown): DcapCollateral {
  let value = json;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new AttestationError('DCAP collateral is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AttestationError('DCAP collateral is not a JSON object');
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !(COLLATERAL_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new AttestationError(`DCAP collateral has fields Intel's does not: ${unknown.join(', ')}`);
  for (const field of COLLATERAL_FIELDS) {
    if (typeof record[field] !== 'string' || record[field] === '') throw new AttestationError(`DCAP collateral: ${field} is missing or not a string`);
  }
  for (const field of ['tcb_info_signature', 'qe_identity_signature'] as const) {
    if (!/^[0-9a-fA-F]{128}$/.test(record[field] as string)) throw new AttestationError(`DCAP collateral: ${field} is not a hex P-256 signature (r‖s)`);
  }
  return Object.fromEntries(COLLATERAL_FIELDS.map((field) => [field, record[field]])) as unknown as DcapCollateral;
}

/** FMSPC, PCK CA and TEE of a quote: what a PCCS client needs to fetch its collateral. */
export function dcapCollateralRequest(quote: Buffer): DcapCollateralRequest {
  const parsed = parseDcapQuote(quote);
  const [leaf, issuer] = parsed.pckChain;
  if (!leaf || !issuer) throw new AttestationError('the PCK certificate chain is incomplete');
  return { teeType: parsed.body.tee, fmspc: readPckExtension(leaf).fmspc.toString('hex'), ca: pckCaKind(issuer) };
}

function commonName(certificate: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1] ?? '';
}

function pckCaKind(certificate: X509Certificate): 'processor' | 'platform' {
  const name = commonName(certificate);
  if (name === CN.platformCa) return 'platform';
  if (name === CN.processorCa) return 'processor';
  throw new AttestationError(`the PCK certificate's issuer "${name}" is not an Intel PCK CA`);
}

/** Verifies one of the collateral's issuer chains and returns its path (signer first, pinned root last). */
function verifyIssuerChain(pem: string, signerName: string, what: string, roots: readonly X509Certificate[], at: Date): X509Certificate[] {
  const certificates = parsePemCertificates(pem, what);
  const [signer] = certificates;
  if (certificates.length !== 2 || !signer) throw new AttestationError(`${what} has ${certificates.length} certificates, not 2 (signer, root)`);
  if (commonName(signer) !== signerName) throw new AttestationError(`${what} starts at "${commonName(signer)}", not "${signerName}"`);
  return verifyChain(certificates, roots, at);
}

/** A P-256 ECDSA signature as Intel writes them everywhere: r‖s, 32 bytes each, over SHA-256. */
function verifyP256(data: Buffer, signature: Buffer, key: crypto.KeyObject, what: string): void {
  let valid = false;
  try {
    valid = crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch (error) {
    throw new AttestationError(`${what} cannot be checked: ${(error as Error).message}`);
  }
  if (!valid) throw new AttestationError(`${what} does not verify`);
}

function attestationPublicKey(point: Buffer): crypto.KeyObject {
  try {
    const coordinate = (bytes: Buffer) => bytes.toString('base64url');
    return crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: coordinate(point.subarray(0, 32)), y: coordinate(point.subarray(32)) }, format: 'jwk' });
  } catch {
    throw new AttestationError('the attestation key is not a P-256 point');
  }
}

function readCrl(text: string, what: string): Crl {
  try {
    return parseCrl(text);
  } catch (error) {
    throw new AttestationError(`${what} cannot be read: ${(error as Error).message}`);
  }
}

function assertCurrent(issueDate: Date, nextUpdate: Date, at: Date, what: string): void {
  if (at < issueDate) throw new AttestationError(`${what} was issued at ${issueDate.toISOString()}, after the verification time`);
  if (at > nextUpdate) throw new AttestationError(`${what} expired at ${nextUpdate.toISOString()} (collateral is stale)`);
}

// ---------------------------------------------------------------------------------------------------
// The checks, in the order of Intel's Quote Verification Library.

interface VerifiedPck {
  leaf: X509Certificate;
  ca: X509Certificate;
  root: X509Certificate;
  extension: PckExtension;
}

/** Step 2: the PCK chain to the pinned root, then both CRLs current, signed by their issuers, revoking none of it. */
function verifyPck(quote: DcapQuote, collateral: DcapCollateral, roots: readonly X509Certificate[], at: Date, verdict: Verdict): { pck: VerifiedPck; rootCrl: Crl; pckCrl: Crl } {
  const [leaf, ca] = quote.pckChain;
  if (quote.pckChain.length !== 3 || !leaf || !ca) throw new AttestationError(`the PCK certificate chain has ${quote.pckChain.length} certificates, not 3 (PCK, PCK CA, root)`);
  if (commonName(leaf) !== CN.pck) throw new AttestationError(`the PCK certificate is "${commonName(leaf)}", not "${CN.pck}"`);
  const caKind = pckCaKind(ca);
  const path = verifyChain(quote.pckChain, roots, at);
  const root = path[path.length - 1] as X509Certificate;
  const extension = readPckExtension(leaf);
  Object.assign(verdict.details, {
    fmspc: extension.fmspc.toString('hex'),
    pceId: extension.pceId.toString('hex'),
    pckCa: caKind,
    pceSvn: extension.pceSvn,
    sgxTcbComponents: extension.sgxComponents.join(','),
    sgxType: extension.sgxType,
  });

  const crlIssuerPath = verifyIssuerChain(collateral.pck_crl_issuer_chain, commonName(ca), 'pck_crl_issuer_chain', roots, at);
  const crlIssuer = crlIssuerPath[0] as X509Certificate;
  if (!certificateIdentity(crlIssuer).subjectDer.equals(certificateIdentity(ca).subjectDer) || !crlIssuer.publicKey.equals(ca.publicKey)) {
    throw new AttestationError("pck_crl_issuer_chain does not start at the quote's PCK CA");
  }
  const rootCrl = readCrl(collateral.root_ca_crl, 'the Root CA CRL');
  checkCrl(rootCrl, root, [ca, crlIssuer], at, 'the Root CA CRL');
  const pckCrl = readCrl(collateral.pck_crl, 'the PCK CRL');
  checkCrl(pckCrl, ca, [leaf], at, 'the PCK CRL');
  return { pck: { leaf, ca, root, extension }, rootCrl, pckCrl };
}

/** A signed JSON collateral item: its issuer chain, the Root CA CRL over its signer, and the signature over the exact text. */
function verifySignedCollateral(text: string, signatureHex: string, issuerChain: string, what: string, roots: readonly X509Certificate[], rootCrl: Crl, root: X509Certificate, at: Date): void {
  const path = verifyIssuerChain(issuerChain, CN.tcbSigning, `the ${what} issuer chain`, roots, at);
  const signer = path[0] as X509Certificate;
  checkCrl(rootCrl, root, [signer], at, 'the Root CA CRL');
  verifyP256(Buffer.from(text, 'utf8'), Buffer.from(signatureHex, 'hex'), signer.publicKey, `the ${what} signature`);
}

/** Step 3: Intel's TCB info for this TEE and platform (FMSPC, PCE-ID), signed and current. */
function verifyTcbInfo(quote: DcapQuote, collateral: DcapCollateral, pck: VerifiedPck, rootCrl: Crl, roots: readonly X509Certificate[], at: Date, verdict: Verdict): TcbInfo {
  verifySignedCollateral(collateral.tcb_info, collateral.tcb_info_signature, collateral.tcb_info_issuer_chain, 'TCB info', roots, rootCrl, pck.root, at);
  const info = parseTcbInfo(collateral.tcb_info);
  const expectedId = quote.body.tee === 'tdx' ? 'TDX' : 'SGX';
  if (info.id !== expectedId) throw new AttestationError(`the TCB info is for ${info.id}, the quote is ${expectedId}`);
  assertCurrent(info.issueDate, info.nextUpdate, at, 'the TCB info');
  if (!info.fmspc.equals(pck.extension.fmspc)) {
    throw new AttestationError(`the TCB info is for FMSPC ${info.fmspc.toString('hex')}, the PCK certificate says ${pck.extension.fmspc.toString('hex')}`);
  }
  if (!info.pceId.equals(pck.extension.pceId)) {
    throw new AttestationError(`the TCB info is for PCE-ID ${info.pceId.toString('hex')}, the PCK certificate says ${pck.extension.pceId.toString('hex')}`);
  }
  Object.assign(verdict.details, { tcbEvaluationDataNumber: info.tcbEvaluationDataNumber, tcbInfoNextUpdate: info.nextUpdate.toISOString() });
  return info;
}

/** Step 4: the identity Intel publishes for its quoting enclave of this TEE, signed and current. */
function verifyQeIdentity(quote: DcapQuote, collateral: DcapCollateral, pck: VerifiedPck, rootCrl: Crl, roots: readonly X509Certificate[], at: Date, verdict: Verdict): QeIdentity {
  verifySignedCollateral(collateral.qe_identity, collateral.qe_identity_signature, collateral.qe_identity_issuer_chain, 'QE identity', roots, rootCrl, pck.root, at);
  const identity = parseQeIdentity(collateral.qe_identity, quote.body.tee === 'tdx' ? 'TD_QE' : 'QE');
  assertCurrent(identity.issueDate, identity.nextUpdate, at, 'the QE identity');
  verdict.details.qeIdentityNextUpdate = identity.nextUpdate.toISOString();
  return identity;
}

/** The TDX module identity the TD report must match: by the module's major version (TEE_TCB_SVN[1]), or the base one for version 0. */
function expectedTdxModule(report: TdReport, info: TcbInfo): { expected: Omit<TdxModuleIdentity, 'id' | 'levels'>; identity: TdxModuleIdentity | undefined } {
  const base = info.tdxModule;
  if (!base) throw new AttestationError('the TDX TCB info has no tdxModule');
  const version = report.teeTcbSvn[1] as number;
  if (version === 0) return { expected: base, identity: undefined };
  const identity = findModuleIdentity(info, version);
  return { expected: identity, identity };
}

function findModuleIdentity(info: TcbInfo, version: number): TdxModuleIdentity {
  const wanted = `TDX_${version.toString(16).padStart(2, '0').toUpperCase()}`;
  const identity = info.tdxModuleIdentities.find((candidate) => candidate.id.toUpperCase() === wanted);
  if (!identity) throw new AttestationError(`the TCB info has no TDX module identity ${wanted} for this TDX module`);
  return identity;
}

/** Step 4 for TDX: the SEAM module that produced the TD report is one the TCB info vouches for. */
function checkTdxModule(report: TdReport, info: TcbInfo): TdxModuleIdentity | undefined {
  const { expected, identity } = expectedTdxModule(report, info);
  if (!report.mrSignerSeam.equals(expected.mrSigner)) {
    throw new AttestationError(`MRSIGNERSEAM ${report.mrSignerSeam.toString('hex')} is not the TDX module signer the TCB info names`);
  }
  // Intel requires SEAMATTRIBUTES zero and equal to the TCB info's, whatever the mask says.
  if (report.seamAttributes.some((byte) => byte !== 0) || !report.seamAttributes.equals(expected.attributes)) {
    throw new AttestationError(`SEAMATTRIBUTES ${report.seamAttributes.toString('hex')} do not match the TDX module's (${expected.attributes.toString('hex')}, all zero)`);
  }
  return identity;
}

/** Step 5: the PCK key signed the QE report, and the QE report vouches for the attestation key and auth data. */
function verifyQeReport(quote: DcapQuote, pck: VerifiedPck): void {
  verifyP256(quote.qeReport.raw, quote.qeReportSignature, pck.leaf.publicKey, 'the QE report signature (by the PCK key)');
  const expected = crypto.createHash('sha256').update(quote.attestationKey).update(quote.qeAuthData).digest();
  if (!quote.qeReport.reportData.subarray(0, 32).equals(expected)) {
    throw new AttestationError('the QE report data is not SHA-256(attestation key ‖ QE auth data)');
  }
  if (quote.qeReport.reportData.subarray(32).some((byte) => byte !== 0)) throw new AttestationError('the QE report data has non-zero bytes after its hash');
}

function masked(value: Buffer, mask: Buffer): Buffer {
  return Buffer.from(value.map((byte, index) => byte & (mask[index] as number)));
}

/** Step 5 against the QE identity: the QE is Intel's, and its ISVSVN picks its TCB level. */
function matchQeIdentity(report: EnclaveReport, identity: QeIdentity): IdentityLevel {
  if (!masked(report.miscSelect, identity.miscSelectMask).equals(identity.miscSelect)) throw new AttestationError('the QE report MISCSELECT does not match the QE identity');
  if (!masked(report.attributes, identity.attributesMask).equals(identity.attributes)) throw new AttestationError('the QE report ATTRIBUTES do not match the QE identity');
  if (!report.mrSigner.equals(identity.mrSigner)) throw new AttestationError(`the QE report MRSIGNER ${report.mrSigner.toString('hex')} is not the QE identity's`);
  if (report.isvProdId !== identity.isvProdId) throw new AttestationError(`the QE report ISVPRODID ${report.isvProdId} is not the QE identity's ${identity.isvProdId}`);
  const level = identity.levels.find((candidate) => report.isvSvn >= candidate.isvSvn);
  if (!level) throw new AttestationError(`the QE's ISVSVN ${report.isvSvn} is below every TCB level of the QE identity (TCB not supported)`);
  return level;
}

/** Step 6: the attestation key the QE vouched for signed the header and body. */
function verifyQuoteSignature(quote: DcapQuote): void {
  verifyP256(quote.signedBytes, quote.signature, attestationPublicKey(quote.attestationKey), 'the quote signature (by the attestation key)');
}

// ---------------------------------------------------------------------------------------------------
// Step 7: the platform's TCB level, and how Intel combines the statuses.

interface Shortfall {
  name: string;
  needed: number;
  actual: number;
  /** Where the platform's value comes from. */
  source: 'PCK certificate' | 'TD report';
}

function shortfalls(actual: readonly number[], needed: readonly number[], name: (index: number) => string, source: Shortfall['source'], from = 0): Shortfall[] {
  const found: Shortfall[] = [];
  for (let index = from; index < needed.length; index += 1) {
    if ((actual[index] as number) < (needed[index] as number)) found.push({ name: name(index), needed: needed[index] as number, actual: actual[index] as number, source });
  }
  return found;
}

function sgxShortfalls(pck: PckExtension, level: TcbLevel): Shortfall[] {
  const components = shortfalls(pck.sgxComponents, level.sgxComponents, (index) => `SGX TCB component ${index + 1}`, 'PCK certificate');
  return pck.pceSvn < level.pceSvn ? [...components, { name: 'PCESVN', needed: level.pceSvn, actual: pck.pceSvn, source: 'PCK certificate' }] : components;
}

/** With a TDX module version (TEE_TCB_SVN[1] > 0), the module's own SVNs are judged by its identity, not here. */
function tdxShortfalls(teeTcbSvn: Buffer, level: TcbLevel): Shortfall[] {
  const from = (teeTcbSvn[1] as number) > 0 ? 2 : 0;
  return shortfalls([...teeTcbSvn], level.tdxComponents, (index) => `TEE TCB SVN[${index}]`, 'TD report', from);
}

interface MatchedLevels {
  sgxLevel: TcbLevel;
  tdxLevel: TcbLevel | undefined;
}

/** Intel's walk: the first level the PCK TCB meets is the SGX level; for TDX, the first such level the TEE TCB SVN also meets. */
function matchTcbLevels(info: TcbInfo, pck: PckExtension, teeTcbSvn: Buffer | undefined): MatchedLevels {
  let sgxLevel: TcbLevel | undefined;
  for (const level of info.levels) {
    if (sgxShortfalls(pck, level).length > 0) continue;
    sgxLevel ??= level;
    if (!teeTcbSvn) return { sgxLevel, tdxLevel: undefined };
    if (tdxShortfalls(teeTcbSvn, level).length === 0) return { sgxLevel, tdxLevel: level };
  }
  throw new AttestationError(`no TCB level of the TCB info matches this platform (TCB not supported): ${describeShortfalls(info, pck, teeTcbSvn)}`);
}

function describeShortfalls(info: TcbInfo, pck: PckExtension, teeTcbSvn: Buffer | undefined): string {
  return info.levels
    .map((level, index) => {
      const missing = [...sgxShortfalls(pck, level), ...(teeTcbSvn ? tdxShortfalls(teeTcbSvn, level) : [])];
      const needs = missing.map((shortfall) => `${shortfall.name} ≥ ${shortfall.needed} (the ${shortfall.source} has ${shortfall.actual})`).join(', ');
      return `level ${index + 1} (${level.tcbDate.slice(0, 10)}, ${level.status}) needs ${needs}`;
    })
    .join('; ');
}

/** How Intel folds a QE or TDX module status into the platform's: OutOfDate degrades, Revoked wins. */
function converge(platform: IntelTcbStatus, other: IdentityStatus): IntelTcbStatus {
  if (other === 'Revoked') return 'Revoked';
  if (other === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  return platform;
}

function moduleLevel(report: TdReport, identity: TdxModuleIdentity | undefined): IdentityLevel | undefined {
  if (!identity) return undefined;
  const isvSvn = report.teeTcbSvn[0] as number;
  const level = identity.levels.find((candidate) => isvSvn >= candidate.isvSvn);
  if (!level) throw new AttestationError(`the TDX module's SVN ${isvSvn} is below every TCB level of ${identity.id} (TCB not supported)`);
  return level;
}

/**
 * TDX 1.5 reports carry the SVNs the TD would run with after a relaunch (TEE_TCB_SVN_2). Intel then says
 * "TD relaunch advised" for an OutOfDate TDX module when a relaunch would reach the latest TCB level.
 * The verdict keeps the OutOfDate status (what the TD runs now) and reports the advice in details.
 */
function tdRelaunchAdvised(report: TdReport, info: TcbInfo, statuses: { sgx: IntelTcbStatus; tdx: IntelTcbStatus; module: IdentityStatus; qe: IdentityStatus }): boolean {
  const svn2 = report.tdx15?.teeTcbSvn2;
  if (!svn2 || statuses.qe !== 'UpToDate' || statuses.module !== 'OutOfDate') return false;
  if (!['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded'].includes(statuses.sgx)) return false;
  if (statuses.tdx !== 'OutOfDate' && statuses.tdx !== 'OutOfDateConfigurationNeeded') return false;
  const latest = info.levels[0] as TcbLevel;
  const version = svn2[1] as number;
  const neededModuleSvn = version === 0 ? (latest.tdxComponents[0] as number) : (findModuleIdentity(info, version).levels[0] as IdentityLevel).isvSvn;
  return (svn2[0] as number) >= neededModuleSvn && (svn2[2] as number) >= (latest.tdxComponents[2] as number);
}

function union(...lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

interface TcbJudgement {
  status: IntelTcbStatus;
  advisoryIds: string[];
}

function judgeTcb(quote: DcapQuote, info: TcbInfo, pck: PckExtension, qeLevel: IdentityLevel, moduleIdentity: TdxModuleIdentity | undefined, verdict: Verdict): TcbJudgement {
  if (quote.body.tee === 'sgx') {
    const { sgxLevel } = matchTcbLevels(info, pck, undefined);
    Object.assign(verdict.details, { platformTcbStatus: sgxLevel.status, tcbDate: sgxLevel.tcbDate });
    return { status: converge(sgxLevel.status, qeLevel.status), advisoryIds: union(sgxLevel.advisoryIds, qeLevel.advisoryIds) };
  }
  const report = quote.body.report;
  const { sgxLevel, tdxLevel } = matchTcbLevels(info, pck, report.teeTcbSvn);
  const level = tdxLevel as TcbLevel;
  const module = moduleLevel(report, moduleIdentity);
  const moduleStatus = module?.status ?? 'UpToDate';
  const tdxStatus = converge(level.status, moduleStatus);
  Object.assign(verdict.details, { platformTcbStatus: level.status, sgxTcbStatus: sgxLevel.status, tdxModuleTcbStatus: moduleStatus, tcbDate: level.tcbDate });
  if (tdRelaunchAdvised(report, info, { sgx: sgxLevel.status, tdx: tdxStatus, module: moduleStatus, qe: qeLevel.status })) verdict.details.tdRelaunchAdvised = true;
  return { status: converge(tdxStatus, qeLevel.status), advisoryIds: union(level.advisoryIds, module?.advisoryIds ?? [], qeLevel.advisoryIds) };
}

// ---------------------------------------------------------------------------------------------------

/** When the first piece of collateral goes stale: a cache of it is good until then. */
function earliest(dates: (Date | undefined)[]): string {
  const times = dates.filter((date): date is Date => date !== undefined).map((date) => date.getTime());
  return times.length === 0 ? '' : new Date(Math.min(...times)).toISOString();
}

/** What the quote says, written into the verdict as soon as it is read, so a refusal still shows it. */
function describeQuote(quote: DcapQuote, verdict: Verdict): void {
  const hex = (bytes: Buffer) => bytes.toString('hex');
  Object.assign(verdict.details, { quoteVersion: quote.header.version, qeSvn: quote.qeReport.isvSvn, qeId: hex(quote.header.userData.subarray(0, 16)) });
  if (quote.bodyType !== undefined) verdict.details.bodyType = quote.bodyType;
  if (quote.paddingLength > 0) verdict.details.paddingLength = quote.paddingLength;
  if (quote.body.tee === 'sgx') {
    const report = quote.body.report;
    verdict.measurement = hex(report.mrEnclave);
    verdict.measurements = { mrEnclave: hex(report.mrEnclave), mrSigner: hex(report.mrSigner), isvProdId: String(report.isvProdId), isvSvn: String(report.isvSvn) };
    verdict.signer = hex(report.mrSigner);
    verdict.reportData = hex(report.reportData);
    verdict.debug = ((report.attributes[0] as number) & 0x02) !== 0;
    Object.assign(verdict.details, {
      attributes: hex(report.attributes),
      miscSelect: hex(report.miscSelect),
      cpuSvn: hex(report.cpuSvn),
      configId: hex(report.configId),
      configSvn: report.configSvn,
      isvExtProdId: hex(report.isvExtProdId),
      isvFamilyId: hex(report.isvFamilyId),
    });
    return;
  }
  const report = quote.body.report;
  verdict.measurement = hex(report.mrTd);
  verdict.measurements = {
    mrTd: hex(report.mrTd),
    mrSeam: hex(report.mrSeam),
    mrSignerSeam: hex(report.mrSignerSeam),
    rtmr0: hex(report.rtmrs[0]),
    rtmr1: hex(report.rtmrs[1]),
    rtmr2: hex(report.rtmrs[2]),
    rtmr3: hex(report.rtmrs[3]),
    mrConfigId: hex(report.mrConfigId),
    mrOwner: hex(report.mrOwner),
    mrOwnerConfig: hex(report.mrOwnerConfig),
    ...(report.tdx15 ? { mrServiceTd: hex(report.tdx15.mrServiceTd) } : {}),
  };
  verdict.reportData = hex(report.reportData);
  verdict.debug = ((report.tdAttributes[0] as number) & 0x01) !== 0;
  Object.assign(verdict.details, {
    teeTcbSvn: hex(report.teeTcbSvn),
    tdAttributes: hex(report.tdAttributes),
    xfam: hex(report.xfam),
    seamAttributes: hex(report.seamAttributes),
    ...(report.tdx15 ? { teeTcbSvn2: hex(report.tdx15.teeTcbSvn2) } : {}),
  });
}

/**
 * Judges a DCAP quote with its collateral at `options.at`. Verified means genuine and current, with any
 * TCB status but Revoked: the status and advisories are in the verdict for a policy to judge.
 */
export function verifyDcapQuote(quote: Buffer, collateral: DcapCollateral, options: DcapVerifyOptions): Verdict {
  const type = quoteTee(quote) === 'tdx' ? 'tdx' : 'sgx-dcap';
  return judge(type, options.at, (verdict) => {
    const at = options.at;
    const roots = options.roots ?? [INTEL_SGX_ROOT_CA];
    const checked = parseDcapCollateral(collateral);
    const parsed = parseDcapQuote(quote);
    describeQuote(parsed, verdict);
    const { pck, rootCrl, pckCrl } = verifyPck(parsed, checked, roots, at, verdict);
    const tcbInfo = verifyTcbInfo(parsed, checked, pck, rootCrl, roots, at, verdict);
    const qeIdentity = verifyQeIdentity(parsed, checked, pck, rootCrl, roots, at, verdict);
    const moduleIdentity = parsed.body.tee === 'tdx' ? checkTdxModule(parsed.body.report, tcbInfo) : undefined;
    verifyQeReport(parsed, pck);
    const qeLevel = matchQeIdentity(parsed.qeReport, qeIdentity);
    verdict.details.qeTcbStatus = qeLevel.status;
    verifyQuoteSignature(parsed);
    const tcb = judgeTcb(parsed, tcbInfo, pck.extension, qeLevel, moduleIdentity, verdict);
    verdict.tcbStatus = tcb.status satisfies TcbStatus;
    verdict.advisoryIds = tcb.advisoryIds;
    verdict.details.collateralExpiresAt = earliest([tcbInfo.nextUpdate, qeIdentity.nextUpdate, rootCrl.nextUpdate, pckCrl.nextUpdate]);
    if (tcb.status === 'Revoked') throw new AttestationError('the TCB status is Revoked');
  });
}
