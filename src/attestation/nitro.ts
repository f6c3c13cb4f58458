/**
 * AWS Nitro Enclaves attestation documents. The Nitro hypervisor signs a CBOR payload (module id,
 * timestamp, PCRs, its certificate and CA bundle, and the enclave's optional public key, user data and
 * nonce) as a COSE_Sign1 with ES384, using a certificate that lives a few hours and chains through the
 * bundle to the AWS Nitro root. The verdict trusts a document only when that chain reaches a pinned
 * root at the caller's time, the signature holds, and every byte of the document is accounted for:
 * strict CBOR, exactly the documented fields and types, nothing unsigned but an empty header.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { decode, encode, Tagged, type DecodeOptions } from 'cborg';
import { certificateExtensions, children, decodeSmallInteger, expectTag, parseDer, TAG } from './der.js';
import { AWS_NITRO_ROOT } from './roots.js';
import { AttestationError, judge, type Verdict } from './verdict.js';
import { verifyChain } from './x509.js';

export interface NitroVerifyOptions {
  /** The time to judge the document at (certificate validity); never read from a clock here. */
  at: Date;
  /** Pinned roots the certificate bundle must reach; the AWS Nitro root G1 by default. */
  roots?: readonly X509Certificate[];
}

/** A COSE_Sign1 as the Nitro hypervisor emits it, its parts still as the bytes that were signed. */
interface CoseSign1 {
  protectedHeader: Buffer;
  unprotectedHeader: unknown;
  payload: Buffer;
  signature: Buffer;
}

/** The attestation document's payload once every field has been checked. */
export interface NitroAttestationDocument {
  moduleId: string;
  digest: 'SHA384';
  /** Milliseconds since the UNIX epoch, UTC. */
  timestamp: number;
  pcrs: ReadonlyMap<number, Buffer>;
  certificate: Buffer;
  cabundle: Buffer[];
  publicKey: Buffer | null;
  userData: Buffer | null;
  nonce: Buffer | null;
}

const COSE_SIGN1_TAG = 18;
const COSE_ALG = 1;
const ES384 = -35;
/** ES384 signatures are r‖s, each a P-384 scalar of 48 bytes. */
const ES384_SIGNATURE_LENGTH = 96;
/** PCRs are SHA-384 registers, the only digest the document may name. */
const PCR_LENGTH = 48;
const PCR_COUNT = 32;
/** The image measurements: PCR0 enclave image, PCR1 kernel and bootstrap, PCR2 application. */
const IMAGE_PCRS = [0, 1, 2] as const;
/** PCRs AWS gives a meaning to (the image ones, PCR3 parent's IAM role, PCR4 parent instance, PCR8 image signer), reported even when zero. */
const DEFINED_PCRS = new Set([0, 1, 2, 3, 4, 8]);
const SIGNER_PCR = 8;
const MAX_CERTIFICATE_LENGTH = 1024;
const MAX_USER_FIELD_LENGTH = 1024;

const REQUIRED_FIELDS = ['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle'] as const;
const OPTIONAL_FIELDS = ['public_key', 'user_data', 'nonce'] as const;
const KNOWN_FIELDS = new Set<string>([...REQUIRED_FIELDS, ...OPTIONAL_FIELDS]);

const OID_KEY_USAGE = '2.5.29.15';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
/** KeyUsage bits as they sit in the BIT STRING's first content byte. */
const DIGITAL_SIGNATURE = 0x80;
const KEY_CERT_SIGN = 0x04;

/** Only one byte sequence may decode to a given value: shortest integers and lengths, no indefinite lengths, no duplicate keys. */
const STRICT_CBOR: DecodeOptions = {
  strict: true,
  useMaps: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowNaN: false,
  allowInfinity: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
};

/**
 * Judges one attestation document (the raw COSE_Sign1 bytes) at `options.at`. The chain and the
 * signature are checked before the payload's finer rules, so a forged document is refused for not
 * coming from AWS rather than for a detail of its layout, and nothing it says reaches the verdict
 * until its signature holds. The unsigned header comes last: a document refused for it alone still
 * shows what AWS signed.
 */
export function verifyNitroDocument(document: Buffer, options: NitroVerifyOptions): Verdict {
  return judge('nitro', options.at, (verdict) => {
    const sign1 = decodeCoseSign1(document);
    const payload = asMap(decodeStrictCbor(sign1.payload, 'the payload'), 'the payload');
    const signingCertificate = trustedSigningCertificate(payload, options.roots ?? [AWS_NITRO_ROOT], options.at);
    assertSignedBy(sign1, signingCertificate);
    const attestation = readAttestationDocument(payload, sign1.payload);
    assertProducedWhileCertified(attestation.timestamp, signingCertificate);
    reportDocument(verdict, attestation);
    assertEmptyUnprotectedHeader(sign1.unprotectedHeader);
  });
}

function decodeStrictCbor(bytes: Uint8Array, what: string, options: DecodeOptions = {}): unknown {
  try {
    return decode(bytes, { ...STRICT_CBOR, ...options });
  } catch (error) {
    throw new AttestationError(`${what} is not strict CBOR: ${(error as Error).message}`);
  }
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `a byte string of ${value.length} bytes`;
  if (value instanceof Map) return 'a map';
  if (value instanceof Tagged) return `tag ${value.tag}`;
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function asMap(value: unknown, what: string): Map<unknown, unknown> {
  if (!(value instanceof Map)) throw new AttestationError(`${what} is ${describeValue(value)}, not a map`);
  return value;
}

function asByteString(value: unknown, what: string): Buffer {
  if (!(value instanceof Uint8Array)) throw new AttestationError(`${what} is ${describeValue(value)}, not a byte string`);
  return bufferOf(value);
}

function asSizedByteString(value: unknown, what: string, min: number, max: number): Buffer {
  const bytes = asByteString(value, what);
  if (bytes.length < min || bytes.length > max) throw new AttestationError(`${what} has ${bytes.length} bytes, outside ${min}..${max}`);
  return bytes;
}

/** AWS sends COSE_Sign1 untagged; tag 18 is the same structure announced, so both are read. */
function decodeCoseSign1(document: Buffer): CoseSign1 {
  const decoded = decodeStrictCbor(document, 'the document', { tags: { [COSE_SIGN1_TAG]: Tagged.decoder(COSE_SIGN1_TAG) } });
  const structure = decoded instanceof Tagged ? decoded.value : decoded;
  if (!Array.isArray(structure) || structure.length !== 4) {
    throw new AttestationError(`the document is ${describeValue(structure)}${Array.isArray(structure) ? ` of ${structure.length}` : ''}, not a COSE_Sign1 array of 4`);
  }
  const [protectedHeader, unprotectedHeader, payload, signature] = structure as unknown[];
  return {
    protectedHeader: asByteString(protectedHeader, 'the COSE protected header'),
    unprotectedHeader,
    payload: asByteString(payload, 'the COSE payload'),
    signature: asByteString(signature, 'the COSE signature'),
  };
}

function parseCertificate(bytes: Buffer, what: string): X509Certificate {
  try {
    return new X509Certificate(bytes);
  } catch (error) {
    throw new AttestationError(`${what} is not an X.509 certificate: ${(error as Error).message}`);
  }
}

function commonName(certificate: X509Certificate): string {
  return /CN=([^\n]+)/.exec(certificate.subject)?.[1] ?? certificate.subject.replace(/\n/g, ', ');
}

/**
 * The document's certificate, once its bundle (root first, as AWS orders it) chains it to a pinned
 * root at `at` using every certificate offered, within each CA's path length, with key usages that
 * let CAs sign certificates and the leaf sign documents.
 */
function trustedSigningCertificate(payload: Map<unknown, unknown>, roots: readonly X509Certificate[], at: Date): X509Certificate {
  const leaf = parseCertificate(asSizedByteString(payload.get('certificate'), 'certificate', 1, MAX_CERTIFICATE_LENGTH), 'certificate');
  const bundle = payload.get('cabundle');
  if (!Array.isArray(bundle) || bundle.length === 0) {
    throw new AttestationError(`cabundle is ${Array.isArray(bundle) ? 'empty' : describeValue(bundle)}: nothing chains the signing certificate "${commonName(leaf)}" to a pinned root`);
  }
  const rootFirst = bundle.map((entry, index) =>
    parseCertificate(asSizedByteString(entry, `cabundle[${index}]`, 1, MAX_CERTIFICATE_LENGTH), `cabundle[${index}]`),
  );
  const offered = [leaf, ...rootFirst.reverse()];
  const path = verifyChain(offered, roots, at);
  if (path.length < offered.length) {
    throw new AttestationError(`cabundle holds ${offered.length - path.length} certificate(s) before the pinned root that are not on the chain`);
  }
  assertSigningLeaf(leaf);
  path.slice(1).forEach((authority, index) => assertCertificateAuthority(authority, index));
  return leaf;
}

function extensionValue(certificate: X509Certificate, oid: string): Buffer | undefined {
  return certificateExtensions(certificate.raw).find((extension) => extension.oid === oid)?.value;
}

/** The first byte of KeyUsage: every bit a Nitro chain uses (digitalSignature, keyCertSign) lives there. */
function keyUsageFirstByte(certificate: X509Certificate): number | undefined {
  const value = extensionValue(certificate, OID_KEY_USAGE);
  if (!value) return undefined;
  return expectTag(parseDer(value), TAG.BIT_STRING, 'key usage').value[1] ?? 0;
}

function pathLengthConstraint(certificate: X509Certificate): number | undefined {
  const value = extensionValue(certificate, OID_BASIC_CONSTRAINTS);
  if (!value) return undefined;
  const pathLength = children(expectTag(parseDer(value), TAG.SEQUENCE, 'basic constraints')).find((node) => node.tag === TAG.INTEGER);
  return pathLength ? decodeSmallInteger(pathLength) : undefined;
}

function assertSigningLeaf(leaf: X509Certificate): void {
  if (leaf.ca) throw new AttestationError(`the signing certificate "${commonName(leaf)}" is a CA, not an end entity`);
  const usage = keyUsageFirstByte(leaf);
  if (usage === undefined || (usage & DIGITAL_SIGNATURE) === 0) {
    throw new AttestationError(`the signing certificate "${commonName(leaf)}" is not allowed digital signatures (key usage)`);
  }
  if (leaf.publicKey.asymmetricKeyType !== 'ec' || leaf.publicKey.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new AttestationError(`the signing certificate "${commonName(leaf)}" does not hold a P-384 key, which ES384 needs`);
  }
}

/** `intermediatesBelow` counts the CAs between this one and the leaf, which its pathLenConstraint bounds. */
function assertCertificateAuthority(authority: X509Certificate, intermediatesBelow: number): void {
  const usage = keyUsageFirstByte(authority);
  if (usage !== undefined && (usage & KEY_CERT_SIGN) === 0) {
    throw new AttestationError(`certificate "${commonName(authority)}" issues certificates but its key usage forbids it`);
  }
  const limit = pathLengthConstraint(authority);
  if (limit !== undefined && intermediatesBelow > limit) {
    throw new AttestationError(`certificate "${commonName(authority)}" allows ${limit} CA(s) below it, the chain has ${intermediatesBelow}`);
  }
}

function assertSignedBy(sign1: CoseSign1, signingCertificate: X509Certificate): void {
  const header = asMap(decodeStrictCbor(sign1.protectedHeader, 'the COSE protected header'), 'the COSE protected header');
  if (header.size !== 1 || header.get(COSE_ALG) !== ES384) {
    throw new AttestationError(`the COSE protected header must be exactly {alg: ES384 (-35)}, it has ${header.size} entr${header.size === 1 ? 'y' : 'ies'} and alg ${String(header.get(COSE_ALG))}`);
  }
  if (sign1.signature.length !== ES384_SIGNATURE_LENGTH) {
    throw new AttestationError(`the COSE signature has ${sign1.signature.length} bytes, ES384 needs ${ES384_SIGNATURE_LENGTH}`);
  }
  // RFC 9052 Sig_structure for COSE_Sign1, with no external additional data.
  const signed = encode(['Signature1', sign1.protectedHeader, new Uint8Array(0), sign1.payload]);
  const key = { key: signingCertificate.publicKey, dsaEncoding: 'ieee-p1363' as const };
  if (!crypto.verify('sha384', signed, key, sign1.signature)) {
    throw new AttestationError(`the COSE signature does not verify with the key of "${commonName(signingCertificate)}"`);
  }
}

/** Re-encodes in the payload's own key order: a value written any other way than its shortest form (a float timestamp, say) shows up. */
function assertCanonicalEncoding(payload: Map<unknown, unknown>, bytes: Buffer): void {
  const keepKeyOrder = (): number => 0;
  if (!bufferOf(encode(payload, { mapSorter: keepKeyOrder })).equals(bytes)) {
    throw new AttestationError('the payload is not in its shortest CBOR encoding');
  }
}

function assertFieldNames(payload: Map<unknown, unknown>): void {
  for (const name of payload.keys()) {
    if (typeof name !== 'string' || !KNOWN_FIELDS.has(name)) throw new AttestationError(`the payload has an unknown field ${JSON.stringify(name)}`);
  }
  for (const name of REQUIRED_FIELDS) {
    if (!payload.has(name)) throw new AttestationError(`the payload has no ${name}`);
  }
}

function readModuleId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new AttestationError(`module_id is ${describeValue(value)}, not a non-empty text string`);
  return value;
}

function readDigest(value: unknown): 'SHA384' {
  if (value !== 'SHA384') throw new AttestationError(`digest is ${typeof value === 'string' ? JSON.stringify(value) : describeValue(value)}, not "SHA384"`);
  return value;
}

function readTimestamp(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new AttestationError(`timestamp is ${typeof value === 'number' ? value : describeValue(value)}, not a positive integer of milliseconds`);
  }
  return value;
}

function readPcrs(value: unknown): Map<number, Buffer> {
  const entries = asMap(value, 'pcrs');
  if (entries.size === 0 || entries.size > PCR_COUNT) throw new AttestationError(`pcrs has ${entries.size} entries, outside 1..${PCR_COUNT}`);
  const pcrs = new Map<number, Buffer>();
  for (const [index, register] of entries) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= PCR_COUNT) {
      throw new AttestationError(`pcrs index ${JSON.stringify(index)} is not an integer in 0..${PCR_COUNT - 1}`);
    }
    pcrs.set(index, asSizedByteString(register, `PCR${index}`, PCR_LENGTH, PCR_LENGTH));
  }
  for (const index of IMAGE_PCRS) {
    if (!pcrs.has(index)) throw new AttestationError(`pcrs lacks PCR${index}, an image measurement every enclave reports`);
  }
  return pcrs;
}

function readCabundle(value: unknown): Buffer[] {
  if (!Array.isArray(value) || value.length === 0) throw new AttestationError(`cabundle is ${Array.isArray(value) ? 'empty' : describeValue(value)}, not a non-empty array`);
  return value.map((entry, index) => asSizedByteString(entry, `cabundle[${index}]`, 1, MAX_CERTIFICATE_LENGTH));
}

/** Optional fields: absent and null both mean not given (AWS writes null). */
function readOptionalBytes(value: unknown, what: string, min: number): Buffer | null {
  return value === undefined || value === null ? null : asSizedByteString(value, what, min, MAX_USER_FIELD_LENGTH);
}

function readAttestationDocument(payload: Map<unknown, unknown>, bytes: Buffer): NitroAttestationDocument {
  assertCanonicalEncoding(payload, bytes);
  assertFieldNames(payload);
  return {
    moduleId: readModuleId(payload.get('module_id')),
    digest: readDigest(payload.get('digest')),
    timestamp: readTimestamp(payload.get('timestamp')),
    pcrs: readPcrs(payload.get('pcrs')),
    certificate: asSizedByteString(payload.get('certificate'), 'certificate', 1, MAX_CERTIFICATE_LENGTH),
    cabundle: readCabundle(payload.get('cabundle')),
    publicKey: readOptionalBytes(payload.get('public_key'), 'public_key', 1),
    userData: readOptionalBytes(payload.get('user_data'), 'user_data', 0),
    nonce: readOptionalBytes(payload.get('nonce'), 'nonce', 0),
  };
}

/** The hypervisor issues the signing certificate just before it signs: a timestamp outside its life is not one it wrote. */
function assertProducedWhileCertified(timestamp: number, signingCertificate: X509Certificate): void {
  const from = new Date(signingCertificate.validFrom).getTime();
  const to = new Date(signingCertificate.validTo).getTime();
  if (timestamp < from || timestamp > to) {
    throw new AttestationError(
      `timestamp ${timestamp} lies outside the signing certificate's validity ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`,
    );
  }
}

function assertEmptyUnprotectedHeader(header: unknown): void {
  if (!(header instanceof Map) || header.size !== 0) {
    throw new AttestationError(`the COSE unprotected header is ${header instanceof Map ? `a map of ${header.size}` : describeValue(header)}, not an empty map`);
  }
}

function isAllZero(bytes: Buffer): boolean {
  return bytes.every((byte) => byte === 0);
}

function hexOrEmpty(bytes: Buffer | null | undefined): string {
  return bytes ? bytes.toString('hex') : '';
}

/** PCRs AWS defines are reported even when zero (a debug enclave's are); the others only once something was measured into them. */
function reportedMeasurements(pcrs: ReadonlyMap<number, Buffer>): Record<string, string> {
  const measurements: Record<string, string> = {};
  for (const index of [...pcrs.keys()].sort((a, b) => a - b)) {
    const register = pcrs.get(index) as Buffer;
    if (DEFINED_PCRS.has(index) || !isAllZero(register)) measurements[`pcr${index}`] = register.toString('hex');
  }
  return measurements;
}

function reportDocument(verdict: Verdict, attestation: NitroAttestationDocument): void {
  const { pcrs } = attestation;
  const signer = pcrs.get(SIGNER_PCR);
  verdict.measurement = hexOrEmpty(pcrs.get(0));
  verdict.measurements = reportedMeasurements(pcrs);
  verdict.signer = signer && !isAllZero(signer) ? signer.toString('hex') : '';
  verdict.reportData = hexOrEmpty(attestation.userData);
  // AWS documents that an enclave started in debug mode reports PCRs of zeros in place of its image measurements.
  verdict.debug = IMAGE_PCRS.every((index) => isAllZero(pcrs.get(index) as Buffer));
  verdict.tcbStatus = 'NotApplicable';
  verdict.producedAt = new Date(attestation.timestamp).toISOString();
  verdict.details = {
    moduleId: attestation.moduleId,
    digest: attestation.digest,
    publicKey: hexOrEmpty(attestation.publicKey),
    nonce: hexOrEmpty(attestation.nonce),
  };
}
