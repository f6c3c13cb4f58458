/**
 * AMD SEV-SNP attestation reports (the ATTESTATION_REPORT of AMD's SEV-SNP ABI specification, 56860, report
 * versions 2 to 5) and the certificates that vouch for them. The AMD secure processor signs each report with its
 * VCEK, a P-384 key derived from the chip's secret and its firmware's TCB; AMD certifies each VCEK through the
 * product line's ASK up to its ARK (RSA-PSS). This module owns the report's byte layout, which product line a
 * report comes from, the chain to the pinned ARK at the caller's time, the report signature, and the binding of
 * the VCEK certificate to the report (the chip's hwID and the TCB the VCEK was derived for). It also reads the
 * certificates as they travel: a PEM bundle or a DER VCEK, and the GHCB certificate table Linux hands out as the
 * configfs-tsm auxblob. Nothing here reads the clock.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { certificateExtensions, decodeSmallInteger, expectTag, parseDer, TAG, type Extension } from './der.js';
import { AMD_ARKS, AMD_ASKS } from './roots.js';
import { AttestationError, judge, type Verdict } from './verdict.js';
import { parseCertificates, verifyChain } from './x509.js';

export type SevSnpProduct = 'Milan' | 'Genoa' | 'Turin';
const PRODUCTS: readonly SevSnpProduct[] = ['Milan', 'Genoa', 'Turin'];

export interface SevSnpVerifyOptions {
  /** The time to judge the certificates at; never read from a clock here. */
  at: Date;
  /** The ARK pinned for each product line; AMD's (roots.ts) by default. When given, it replaces AMD's entirely. */
  arks?: Readonly<Record<string, X509Certificate>>;
}

const REPORT_LENGTH = 0x4a0;
/** The signature covers every byte before it. */
const SIGNED_LENGTH = 0x2a0;
const SUPPORTED_VERSIONS = new Set([2, 3, 4, 5]);
const ECDSA_P384_SHA384 = 1;

/** ATTESTATION_REPORT offsets (SEV-SNP ABI specification, table "ATTESTATION_REPORT Structure"). */
const OFFSET = {
  version: 0x000,
  guestSvn: 0x004,
  policy: 0x008,
  familyId: 0x010,
  imageId: 0x020,
  vmpl: 0x030,
  signatureAlgorithm: 0x034,
  currentTcb: 0x038,
  platformInfo: 0x040,
  keyInfo: 0x048,
  reportData: 0x050,
  measurement: 0x090,
  hostData: 0x0c0,
  idKeyDigest: 0x0e0,
  authorKeyDigest: 0x110,
  reportId: 0x140,
  reportIdMa: 0x160,
  reportedTcb: 0x180,
  /** Version 3 on: CPUID family, model and stepping, one byte each. */
  cpuid: 0x188,
  chipId: 0x1a0,
  committedTcb: 0x1e0,
  currentVersion: 0x1e8,
  committedVersion: 0x1ec,
  launchTcb: 0x1f0,
  /** Version 5 on (ABI specification 1.58). */
  launchMitVector: 0x1f8,
  currentMitVector: 0x200,
  signature: 0x2a0,
} as const;

/** r then s, each a little-endian number in a 72-byte field, of which P-384 uses the low 48. */
const SIGNATURE_COMPONENT_LENGTH = 72;
const P384_SCALAR_LENGTH = 48;

/** KEY_INFO (0x48): bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY (0 VCEK, 1 VLEK, 7 none), the rest reserved. */
const KEY_INFO_AUTHOR_KEY_EN = 1 << 0;
const KEY_INFO_MASK_CHIP_KEY = 1 << 1;
const KEY_INFO_RESERVED = ~0x1f >>> 0;
const SIGNING_KEY_NAMES = ['VCEK', 'VLEK', 'reserved (2)', 'reserved (3)', 'reserved (4)', 'reserved (5)', 'reserved (6)', 'none'];

/** POLICY bits: 7:0 ABI minor, 15:8 ABI major, 16 SMT, 17 reserved and set, 18 migration agent, 19 DEBUG, … 25 page swap disable. */
const POLICY_MUST_BE_ONE = 1n << 17n;
const POLICY_DEBUG = 1n << 19n;
const POLICY_RESERVED = ~((1n << 26n) - 1n) & 0xffff_ffff_ffff_ffffn;

/**
 * PLATFORM_INFO bits: 0 SMT, 1 TSME, 2 ECC, 3 RAPL disabled, 4 ciphertext hiding, 5 alias check complete
 * (version 3 on), 7 SEV-TIO (version 5 on); 6 and 63:8 reserved.
 */
function platformInfoReserved(version: number): bigint {
  let defined = 0x1fn;
  if (version >= 3) defined |= 1n << 5n;
  if (version >= 5) defined |= 1n << 7n;
  return ~defined & 0xffff_ffff_ffff_ffffn;
}

/** Byte ranges [start, end) the report's version leaves reserved, which must be zero. */
function reservedRanges(version: number): Array<[number, number]> {
  return [
    [0x04c, 0x050],
    [version >= 3 ? 0x18b : 0x188, 0x1a0],
    [0x1eb, 0x1ec],
    [0x1ef, 0x1f0],
    [version >= 5 ? 0x208 : 0x1f8, SIGNED_LENGTH],
    [OFFSET.signature + 2 * SIGNATURE_COMPONENT_LENGTH, REPORT_LENGTH],
  ];
}

/** AMD's extensions on VCEK certificates (AMD's VCEK certificate specification, 57230), under 1.3.6.1.4.1.3704.1. */
const OID = {
  productName: '1.3.6.1.4.1.3704.1.2',
  tcbPrefix: '1.3.6.1.4.1.3704.1.3.',
  hwId: '1.3.6.1.4.1.3704.1.4',
} as const;

type TcbComponentName = 'fmc' | 'bootloader' | 'tee' | 'snp' | 'microcode';
interface TcbComponent {
  name: TcbComponentName;
  /** The byte of the 8-byte TCB_VERSION that holds it. */
  byte: number;
  /** The last arc of its VCEK extension, 1.3.6.1.4.1.3704.1.3.<arc>. */
  arc: number;
}

/**
 * TCB_VERSION is laid out per product line: Milan and Genoa put bootloader, TEE, 4 reserved bytes, SNP,
 * microcode; Turin puts FMC, bootloader, TEE, SNP, 3 reserved bytes, microcode (virtee/sev TcbVersion
 * from_legacy_bytes / from_turin_bytes; AMD's Turin VCEKs carry the FMC as extension .3.9).
 */
const LEGACY_TCB: readonly TcbComponent[] = [
  { name: 'bootloader', byte: 0, arc: 1 },
  { name: 'tee', byte: 1, arc: 2 },
  { name: 'snp', byte: 6, arc: 3 },
  { name: 'microcode', byte: 7, arc: 8 },
];
const TURIN_TCB: readonly TcbComponent[] = [
  { name: 'fmc', byte: 0, arc: 9 },
  { name: 'bootloader', byte: 1, arc: 1 },
  { name: 'tee', byte: 2, arc: 2 },
  { name: 'snp', byte: 3, arc: 3 },
  { name: 'microcode', byte: 7, arc: 8 },
];
/** Extensions .3.4 to .3.7 name the TCB's reserved patch levels; AMD writes them as zero. */
const RESERVED_TCB_ARCS = new Set([4, 5, 6, 7]);

const PRODUCT_LINE: Record<SevSnpProduct, { tcb: readonly TcbComponent[]; hwIdLength: number }> = {
  Milan: { tcb: LEGACY_TCB, hwIdLength: 64 },
  Genoa: { tcb: LEGACY_TCB, hwIdLength: 64 },
  // Turin VCEKs name the chip by 8 bytes, which the report's CHIP_ID holds first, zeros after.
  Turin: { tcb: TURIN_TCB, hwIdLength: 8 },
};

/**
 * Which product line a CPUID family and model (report version 3 on) belong to, by the ranges virtee/sev's
 * Generation::identify_cpu uses (family 19h: models 0h-Fh Milan, 10h-1Fh and A0h-AFh Genoa; family 1Ah:
 * models 0h-11h Turin), which include go-sev-guest's (19h/01h, 19h/11h, 1Ah/02h).
 */
function productFromCpuid(family: number, model: number): SevSnpProduct | undefined {
  if (family === 0x19 && model <= 0x0f) return 'Milan';
  if (family === 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))) return 'Genoa';
  if (family === 0x1a && model <= 0x11) return 'Turin';
  return undefined;
}

/** The GHCB certificate table's GUIDs (GHCB specification 56421, MSG_REPORT_REQ), in RFC 4122 byte order. */
const CERTIFICATE_TABLE_GUID = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;
type CertificateRole = keyof typeof CERTIFICATE_TABLE_GUID;
const CERTIFICATE_TABLE_ENTRY_LENGTH = 24;

/**
 * Judges one SEV-SNP attestation report at `options.at`. `certificates` is the VCEK, then the ASK, then
 * optionally the ARK (which must then be the pinned one, byte for byte). The report's shape is read first
 * (length, version, signature algorithm), then its product line, the chain to that line's pinned ARK and the
 * signature, so a forged report is refused for not coming from AMD before any detail of its layout; then the
 * reserved fields and flags of a signed report, and last whether the VCEK certificate is the one for this
 * chip at this TCB. The verdict shows what the report says as soon as its signature holds.
 */
export function verifySevSnpReport(report: Buffer, certificates: readonly X509Certificate[], options: SevSnpVerifyOptions): Verdict {
  return judge('sev-snp', options.at, (verdict) => {
    const version = readShape(report);
    const product = productOf(report, version, certificates);
    const vcek = trustedVcek(certificates, product, options.arks ?? AMD_ARKS, options.at);
    assertSignedBy(report, vcek);
    reportFields(verdict, report, version, product);
    assertReservedZero(report, version);
    const keyInfo = assertFlags(report, version);
    assertVcekMatchesReport(report, vcek, product, keyInfo);
  });
}

function readShape(report: Buffer): number {
  if (report.length !== REPORT_LENGTH) {
    throw new AttestationError(`the report has ${report.length} bytes, an SEV-SNP ATTESTATION_REPORT has ${REPORT_LENGTH}`);
  }
  const version = report.readUInt32LE(OFFSET.version);
  if (!SUPPORTED_VERSIONS.has(version)) throw new AttestationError(`report version ${version} is not one of ${[...SUPPORTED_VERSIONS].join(', ')}`);
  const algorithm = report.readUInt32LE(OFFSET.signatureAlgorithm);
  if (algorithm !== ECDSA_P384_SHA384) throw new AttestationError(`signature algorithm ${algorithm} is not 1 (ECDSA P-384 with SHA-384)`);
  return version;
}

function commonName(certificate: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1] ?? '';
}

function issuerCommonName(certificate: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(certificate.issuer)?.[1] ?? '';
}

/** The product line an ASK's name gives ("SEV-Milan"), if it is one. */
function productFromIssuerName(name: string): SevSnpProduct | undefined {
  return PRODUCTS.find((product) => name === `SEV-${product}`);
}

/**
 * The product line, which picks the ARK: named by the VCEK's issuer (its ASK, "SEV-<line>"), and from
 * version 3 on also by the CPUID the report carries, which must agree.
 */
function productOf(report: Buffer, version: number, certificates: readonly X509Certificate[]): SevSnpProduct {
  const [vcek] = certificates;
  if (!vcek) throw new AttestationError('no VCEK certificate was given with the report');
  const issuer = issuerCommonName(vcek);
  const product = productFromIssuerName(issuer);
  if (!product) {
    // A VLEK's issuer is "SEV-VLEK-<line>": VLEK-signed reports end here too.
    throw new AttestationError(`the VCEK is issued by "${issuer}", which names no SEV-SNP product line's VCEK signer (${PRODUCTS.map((name) => `SEV-${name}`).join(', ')})`);
  }
  if (version >= 3) {
    const family = report[OFFSET.cpuid] as number;
    const model = report[OFFSET.cpuid + 1] as number;
    const stepping = report[OFFSET.cpuid + 2] as number;
    const reported = productFromCpuid(family, model);
    const cpuid = `family ${hex8(family)}h model ${hex8(model)}h stepping ${hex8(stepping)}h`;
    if (!reported) throw new AttestationError(`the report's CPUID (${cpuid}) is no SEV-SNP product line known here`);
    if (reported !== product) throw new AttestationError(`the report's CPUID (${cpuid}) is a ${reported}, its VCEK is certified for ${product}`);
  }
  return product;
}

function hex8(value: number): string {
  return value.toString(16).padStart(2, '0');
}

/**
 * The VCEK, once the certificates (at most VCEK, ASK, ARK, each signed by the next) chain it to the pinned
 * ARK of `product` at `at`, and it is an end-entity P-384 key named as AMD names VCEKs.
 */
function trustedVcek(certificates: readonly X509Certificate[], product: SevSnpProduct, arks: Readonly<Record<string, X509Certificate>>, at: Date): X509Certificate {
  const ark = arks[product];
  if (!ark) throw new AttestationError(`no ARK is pinned for ${product}`);
  if (certificates.length > 3) throw new AttestationError(`${certificates.length} certificates were given; a VCEK chain is VCEK, ASK and at most the ARK`);
  const vcek = verifyChain(certificates, [ark], at)[0] as X509Certificate;
  if (commonName(vcek) !== 'SEV-VCEK') throw new AttestationError(`the first certificate is "${commonName(vcek)}", not a VCEK ("SEV-VCEK")`);
  if (vcek.ca) throw new AttestationError('the VCEK certificate is a CA, not an end entity');
  if (vcek.publicKey.asymmetricKeyType !== 'ec' || vcek.publicKey.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new AttestationError('the VCEK certificate does not hold a P-384 key');
  }
  return vcek;
}

/** The 72-byte little-endian r and s as the 48-byte big-endian r‖s node:crypto takes (IEEE P1363). */
function p1363Signature(report: Buffer): Buffer {
  const components = ['r', 's'].map((name, index) => {
    const start = OFFSET.signature + index * SIGNATURE_COMPONENT_LENGTH;
    const field = report.subarray(start, start + SIGNATURE_COMPONENT_LENGTH);
    if (field.subarray(P384_SCALAR_LENGTH).some((byte) => byte !== 0)) {
      throw new AttestationError(`signature component ${name} is wider than a P-384 scalar (its upper ${SIGNATURE_COMPONENT_LENGTH - P384_SCALAR_LENGTH} bytes are not zero)`);
    }
    return Buffer.from(field.subarray(0, P384_SCALAR_LENGTH)).reverse();
  });
  return Buffer.concat(components);
}

function assertSignedBy(report: Buffer, vcek: X509Certificate): void {
  const signature = p1363Signature(report);
  const valid = crypto.verify('sha384', report.subarray(0, SIGNED_LENGTH), { key: vcek.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) throw new AttestationError('the report signature does not verify with the VCEK');
}

function assertReservedZero(report: Buffer, version: number): void {
  for (const [start, end] of reservedRanges(version)) {
    const offset = report.subarray(start, end).findIndex((byte) => byte !== 0);
    if (offset >= 0) {
      throw new AttestationError(`byte 0x${(start + offset).toString(16)} is not zero, but reserved in a version ${version} report (0x${start.toString(16)}-0x${(end - 1).toString(16)})`);
    }
  }
}

interface KeyInfo {
  authorKeyEnabled: boolean;
  chipIdMasked: boolean;
}

/** The flag words: reserved bits clear (or set, where the specification says so), and signed by a VCEK. */
function assertFlags(report: Buffer, version: number): KeyInfo {
  const policy = report.readBigUInt64LE(OFFSET.policy);
  if ((policy & POLICY_MUST_BE_ONE) === 0n) throw new AttestationError('POLICY bit 17 is clear; the specification reserves it as set');
  if ((policy & POLICY_RESERVED) !== 0n) throw new AttestationError(`POLICY 0x${policy.toString(16)} sets reserved bits (63:26)`);
  const platformInfo = report.readBigUInt64LE(OFFSET.platformInfo);
  if ((platformInfo & platformInfoReserved(version)) !== 0n) {
    throw new AttestationError(`PLATFORM_INFO 0x${platformInfo.toString(16)} sets bits reserved in a version ${version} report`);
  }
  const keyInfo = report.readUInt32LE(OFFSET.keyInfo);
  if ((keyInfo & KEY_INFO_RESERVED) !== 0) throw new AttestationError(`KEY_INFO 0x${keyInfo.toString(16)} sets reserved bits (31:5)`);
  const signingKey = (keyInfo >> 2) & 0x7;
  if (signingKey !== 0) {
    throw new AttestationError(`the report says it was signed by ${SIGNING_KEY_NAMES[signingKey]}, not a VCEK`);
  }
  return { authorKeyEnabled: (keyInfo & KEY_INFO_AUTHOR_KEY_EN) !== 0, chipIdMasked: (keyInfo & KEY_INFO_MASK_CHIP_KEY) !== 0 };
}

function amdExtensions(vcek: X509Certificate): Map<string, Extension> {
  const extensions = new Map<string, Extension>();
  for (const extension of certificateExtensions(vcek.raw)) {
    if (extensions.has(extension.oid)) throw new AttestationError(`the VCEK certificate has extension ${extension.oid} twice`);
    extensions.set(extension.oid, extension);
  }
  return extensions;
}

/** A TCB patch level as AMD writes it: a DER INTEGER of one byte's range. */
function patchLevel(extension: Extension): number {
  const value = decodeSmallInteger(expectTag(parseDer(extension.value), TAG.INTEGER, `VCEK extension ${extension.oid}`));
  if (value > 0xff) throw new AttestationError(`VCEK extension ${extension.oid} holds ${value}, more than a TCB byte`);
  return value;
}

/**
 * The VCEK is the key for this chip at this TCB: its product name is the line's, its hwID is the report's
 * CHIP_ID (unless the host masked it), and its TCB patch levels are the report's REPORTED_TCB, every byte of it.
 */
function assertVcekMatchesReport(report: Buffer, vcek: X509Certificate, product: SevSnpProduct, keyInfo: KeyInfo): void {
  const extensions = amdExtensions(vcek);
  const productName = extensions.get(OID.productName);
  if (!productName) throw new AttestationError('the VCEK certificate has no product name extension');
  const name = expectTag(parseDer(productName.value), 0x16, 'VCEK product name (IA5String)').value.toString('latin1');
  if (name.split('-')[0] !== product) throw new AttestationError(`the VCEK certificate's product name "${name}" is not ${product}`);

  const layout = PRODUCT_LINE[product];
  const chipId = report.subarray(OFFSET.chipId, OFFSET.chipId + 64);
  const hwId = extensions.get(OID.hwId)?.value;
  if (!hwId) throw new AttestationError('the VCEK certificate has no hwID extension');
  if (hwId.length !== layout.hwIdLength) throw new AttestationError(`the VCEK's hwID has ${hwId.length} bytes, ${product} VCEKs carry ${layout.hwIdLength}`);
  if (keyInfo.chipIdMasked) {
    if (chipId.some((byte) => byte !== 0)) throw new AttestationError('MASK_CHIP_KEY is set but CHIP_ID is not zero');
  } else if (!chipId.subarray(0, hwId.length).equals(hwId) || chipId.subarray(hwId.length).some((byte) => byte !== 0)) {
    throw new AttestationError(`the VCEK belongs to chip ${hwId.toString('hex')}, the report's CHIP_ID is ${chipId.toString('hex')}`);
  }

  const reportedTcb = report.subarray(OFFSET.reportedTcb, OFFSET.reportedTcb + 8);
  const used = new Set(layout.tcb.map((component) => component.byte));
  reportedTcb.forEach((byte, index) => {
    if (!used.has(index) && byte !== 0) throw new AttestationError(`REPORTED_TCB byte ${index} is ${byte}, but reserved in ${product}'s TCB_VERSION`);
  });
  const certified = new Set<number>();
  for (const component of layout.tcb) {
    const extension = extensions.get(`${OID.tcbPrefix}${component.arc}`);
    if (!extension) throw new AttestationError(`the VCEK certificate has no ${component.name} patch level (${OID.tcbPrefix}${component.arc})`);
    const level = patchLevel(extension);
    const reported = reportedTcb[component.byte] as number;
    if (level !== reported) {
      throw new AttestationError(`the VCEK is certified for ${component.name} patch level ${level}, the report's REPORTED_TCB has ${reported}`);
    }
    certified.add(component.arc);
  }
  for (const [oid, extension] of extensions) {
    if (!oid.startsWith(OID.tcbPrefix)) continue;
    const arc = Number(oid.slice(OID.tcbPrefix.length));
    if (certified.has(arc)) continue;
    if (!RESERVED_TCB_ARCS.has(arc)) throw new AttestationError(`the VCEK certificate names TCB component ${oid}, which ${product}'s TCB_VERSION does not have`);
    if (patchLevel(extension) !== 0) throw new AttestationError(`the VCEK certificate's reserved TCB component ${oid} is not zero`);
  }
}

function tcbParts(tcb: Buffer, product: SevSnpProduct): Record<TcbComponentName, number | undefined> {
  const parts: Record<TcbComponentName, number | undefined> = { fmc: undefined, bootloader: undefined, tee: undefined, snp: undefined, microcode: undefined };
  for (const component of PRODUCT_LINE[product].tcb) parts[component.name] = tcb[component.byte];
  return parts;
}

function isAllZero(bytes: Buffer): boolean {
  return bytes.every((byte) => byte === 0);
}

function field(report: Buffer, offset: number, length: number): Buffer {
  return report.subarray(offset, offset + length);
}

/** A firmware version as the report stores it: build, minor, major. */
function firmwareVersion(report: Buffer, offset: number): string {
  return `${report[offset + 2]}.${report[offset + 1]}.${report[offset]}`;
}

/**
 * What the report says. The signer is the author key digest when the ID block's key was certified by an
 * author key, else the ID key digest, else nobody: the author key is the one that stays when ID keys rotate.
 */
function reportFields(verdict: Verdict, report: Buffer, version: number, product: SevSnpProduct): void {
  const policy = report.readBigUInt64LE(OFFSET.policy);
  const measurement = field(report, OFFSET.measurement, 48);
  const idKeyDigest = field(report, OFFSET.idKeyDigest, 48);
  const authorKeyDigest = field(report, OFFSET.authorKeyDigest, 48);
  const reportedTcb = field(report, OFFSET.reportedTcb, 8);
  const keyInfo = report.readUInt32LE(OFFSET.keyInfo);
  verdict.measurement = measurement.toString('hex');
  verdict.measurements = {
    measurement: measurement.toString('hex'),
    hostData: field(report, OFFSET.hostData, 32).toString('hex'),
    idKeyDigest: idKeyDigest.toString('hex'),
    authorKeyDigest: authorKeyDigest.toString('hex'),
    familyId: field(report, OFFSET.familyId, 16).toString('hex'),
    imageId: field(report, OFFSET.imageId, 16).toString('hex'),
    reportId: field(report, OFFSET.reportId, 32).toString('hex'),
  };
  verdict.signer = !isAllZero(authorKeyDigest) ? authorKeyDigest.toString('hex') : !isAllZero(idKeyDigest) ? idKeyDigest.toString('hex') : '';
  verdict.reportData = field(report, OFFSET.reportData, 64).toString('hex');
  verdict.debug = (policy & POLICY_DEBUG) !== 0n;
  verdict.tcbStatus = 'NotApplicable';
  const parts = tcbParts(reportedTcb, product);
  verdict.details = {
    product,
    reportVersion: version,
    guestSvn: report.readUInt32LE(OFFSET.guestSvn),
    vmpl: report.readUInt32LE(OFFSET.vmpl),
    policy: policy.toString(16).padStart(16, '0'),
    platformInfo: report.readBigUInt64LE(OFFSET.platformInfo).toString(16).padStart(16, '0'),
    authorKeyEnabled: (keyInfo & KEY_INFO_AUTHOR_KEY_EN) !== 0,
    chipIdMasked: (keyInfo & KEY_INFO_MASK_CHIP_KEY) !== 0,
    chipId: field(report, OFFSET.chipId, 64).toString('hex'),
    reportIdMa: field(report, OFFSET.reportIdMa, 32).toString('hex'),
    reportedTcb: reportedTcb.toString('hex'),
    ...(parts.fmc === undefined ? {} : { reportedTcbFmc: parts.fmc }),
    reportedTcbBootloader: parts.bootloader as number,
    reportedTcbTee: parts.tee as number,
    reportedTcbSnp: parts.snp as number,
    reportedTcbMicrocode: parts.microcode as number,
    currentTcb: field(report, OFFSET.currentTcb, 8).toString('hex'),
    committedTcb: field(report, OFFSET.committedTcb, 8).toString('hex'),
    launchTcb: field(report, OFFSET.launchTcb, 8).toString('hex'),
    currentFirmware: firmwareVersion(report, OFFSET.currentVersion),
    committedFirmware: firmwareVersion(report, OFFSET.committedVersion),
    ...(version >= 3 ? { cpuid: field(report, OFFSET.cpuid, 3).toString('hex') } : {}),
    ...(version >= 5
      ? {
          launchMitVector: report.readBigUInt64LE(OFFSET.launchMitVector).toString(16).padStart(16, '0'),
          currentMitVector: report.readBigUInt64LE(OFFSET.currentMitVector).toString(16).padStart(16, '0'),
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// The certificates as they travel beside a report.

/**
 * Reads the certificates a report travels with, for `--certs`: PEM holding the VCEK, ASK and ARK in any order
 * (KDS's cert_chain gives ASK then ARK), or the VCEK alone in DER as KDS serves it. Returns them VCEK first,
 * each followed by its issuer. A VCEK given alone is followed by the pinned ASK its issuer names, so the
 * chain still ends at the pinned ARK; signatures and validity are judged by verifySevSnpReport, not here.
 */
export function parseSevSnpCertificates(input: string | Buffer): X509Certificate[] {
  let certificates: X509Certificate[];
  try {
    certificates = parseCertificates(input);
  } catch (error) {
    throw new AttestationError(`the SEV-SNP certificates cannot be read: ${(error as Error).message}`);
  }
  const leaves = certificates.filter((certificate) => !certificate.ca);
  if (leaves.length !== 1) throw new AttestationError(`the certificates hold ${leaves.length} end-entity certificates, not one VCEK`);
  const ordered = [leaves[0] as X509Certificate];
  const rest = certificates.filter((certificate) => certificate.ca);
  for (let current = ordered[0] as X509Certificate; rest.length > 0; ) {
    const index = rest.findIndex((candidate) => current.checkIssued(candidate));
    if (index < 0) break;
    current = rest.splice(index, 1)[0] as X509Certificate;
    ordered.push(current);
  }
  if (rest.length > 0) throw new AttestationError(`certificate "${commonName(rest[0] as X509Certificate)}" is not on the VCEK's chain`);
  const product = productFromIssuerName(issuerCommonName(ordered[0] as X509Certificate));
  if (ordered.length === 1 && product) ordered.push(AMD_ASKS[product] as X509Certificate);
  return ordered;
}

function guidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Reads the certificate table of an SNP extended guest request (GHCB specification 56421, MSG_REPORT_REQ),
 * which Linux's configfs-tsm gives as the report's auxblob: entries of GUID (16 bytes, RFC 4122 order), offset
 * and length (little-endian 32-bit, from the table's start), ended by an all-zero entry, then the DER
 * certificates. Returns the endorsement key's certificate (VCEK, else VLEK), then the ASK, then the ARK,
 * those present; entries with other GUIDs are skipped.
 */
export function parseSnpCertificateTable(auxblob: Buffer): X509Certificate[] {
  if (auxblob.length === 0) throw new AttestationError('the certificate table is empty: the host supplied no certificates');
  const found = new Map<CertificateRole, X509Certificate>();
  const roles = new Map<string, CertificateRole>(Object.entries(CERTIFICATE_TABLE_GUID).map(([role, guid]) => [guid, role as CertificateRole]));
  const entries: Array<{ guid: string; offset: number; length: number }> = [];
  for (let position = 0; ; position += CERTIFICATE_TABLE_ENTRY_LENGTH) {
    if (position + CERTIFICATE_TABLE_ENTRY_LENGTH > auxblob.length) throw new AttestationError('the certificate table has no terminating all-zero entry');
    const entry = auxblob.subarray(position, position + CERTIFICATE_TABLE_ENTRY_LENGTH);
    if (isAllZero(entry)) break;
    entries.push({ guid: guidText(entry.subarray(0, 16)), offset: entry.readUInt32LE(16), length: entry.readUInt32LE(20) });
  }
  const headerEnd = (entries.length + 1) * CERTIFICATE_TABLE_ENTRY_LENGTH;
  for (const { guid, offset, length } of entries) {
    const role = roles.get(guid);
    if (!role) continue;
    if (found.has(role)) throw new AttestationError(`the certificate table has two ${role.toUpperCase()} entries`);
    if (offset < headerEnd || length === 0 || offset + length > auxblob.length) {
      throw new AttestationError(`the certificate table's ${role.toUpperCase()} entry (offset ${offset}, length ${length}) lies outside its ${auxblob.length} bytes of certificates`);
    }
    try {
      found.set(role, new X509Certificate(auxblob.subarray(offset, offset + length)));
    } catch (error) {
      throw new AttestationError(`the certificate table's ${role.toUpperCase()} is not a DER certificate: ${(error as Error).message}`);
    }
  }
  const endorsement = found.get('vcek') ?? found.get('vlek');
  if (!endorsement) throw new AttestationError('the certificate table holds no VCEK (nor VLEK)');
  return [endorsement, found.get('ask'), found.get('ark')].filter((certificate): certificate is X509Certificate => certificate !== undefined);
}
