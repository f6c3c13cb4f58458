/**
 * A synthetic SEV-SNP platform for tests: a throwaway AMD-shaped PKI (test/fixtures/attestation/snp-test-*,
 * made once by snp-test-pki.sh; TEST ONLY, nothing of AMD's) and attestation reports laid out as AMD's
 * ATTESTATION_REPORT and signed at test time with the fixture VCEK's private key, so a test can ask for the
 * report a chip would give for any report data, and for reports a genuine chip would never give. The chip's
 * ID and TCB are read from the fixture VCEK's own extensions, so reports match whatever the script made.
 */
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { certificateExtensions } from '../../src/attestation/der.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/attestation');

export type SyntheticSnpProduct = 'Milan' | 'Turin';

/** A TCB as its components; `fmc` exists on Turin only. */
export interface SnpTcb {
  fmc?: number;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface SyntheticSnpReportOptions {
  /** POLICY bit 19: the guest may be debugged by the host. */
  debug?: boolean;
  /** The launch MEASUREMENT, 48 bytes. */
  measurement?: Buffer;
  /** CHIP_ID, up to 64 bytes (zero-padded): another chip's, to pose as it. Defaults to the VCEK's hwID. */
  chipId?: Buffer;
  /** REPORTED_TCB components that differ from those the VCEK is certified for. */
  reportedTcb?: Partial<SnpTcb>;
  /** Report version; 3 (Milan) or 5 (Turin) by default, as current firmware writes. */
  version?: 2 | 3 | 4 | 5;
  hostData?: Buffer;
  idKeyDigest?: Buffer;
  authorKeyDigest?: Buffer;
  /** Changes the report's bytes after they are laid out and before they are signed. */
  beforeSigning?: (report: Buffer) => void;
}

export interface SyntheticSnpPlatform {
  product: SyntheticSnpProduct;
  /** The test ARK, pinned under the product's name: pass as `arks` to verifySevSnpReport. */
  arks: Record<string, X509Certificate>;
  /** VCEK, ASK, ARK. */
  certificates: X509Certificate[];
  /** The same three as PEM, VCEK first. */
  certificatesPem: string;
  /** The CHIP_ID this platform's reports carry (its VCEK's hwID, zero-padded to 64 bytes). */
  chipId: Buffer;
  /** The TCB the VCEK is certified for, which reports carry by default. */
  tcb: SnpTcb;
  /** A time inside every certificate's validity. */
  at: Date;
  /** The VCEK, ASK and ARK as the GHCB certificate table Linux gives as configfs-tsm's auxblob. */
  certificateTable(): Buffer;
  /** A signed ATTESTATION_REPORT over `reportData` (up to 64 bytes, zero-padded as the kernel does). */
  report(reportData: Buffer, options?: SyntheticSnpReportOptions): Buffer;
}

const REPORT_LENGTH = 0x4a0;
const SIGNED_LENGTH = 0x2a0;
const SIGNATURE_OFFSET = 0x2a0;
const SIGNATURE_COMPONENT_LENGTH = 72;

/** Where each TCB component sits in TCB_VERSION, and the last arc of its VCEK extension. */
const TCB_LAYOUT: Record<SyntheticSnpProduct, Array<{ name: keyof SnpTcb; byte: number; arc: number }>> = {
  Milan: [
    { name: 'bootloader', byte: 0, arc: 1 },
    { name: 'tee', byte: 1, arc: 2 },
    { name: 'snp', byte: 6, arc: 3 },
    { name: 'microcode', byte: 7, arc: 8 },
  ],
  Turin: [
    { name: 'fmc', byte: 0, arc: 9 },
    { name: 'bootloader', byte: 1, arc: 1 },
    { name: 'tee', byte: 2, arc: 2 },
    { name: 'snp', byte: 3, arc: 3 },
    { name: 'microcode', byte: 7, arc: 8 },
  ],
};

/** CPUID family, model and stepping of a chip of each line (report version 3 on). */
const CPUID: Record<SyntheticSnpProduct, [number, number, number]> = { Milan: [0x19, 0x01, 0x01], Turin: [0x1a, 0x02, 0x00] };
const DEFAULT_VERSION: Record<SyntheticSnpProduct, 2 | 3 | 4 | 5> = { Milan: 3, Turin: 5 };

const GUID = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
};

function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, name));
}

function extensionValue(certificate: X509Certificate, oid: string): Buffer {
  const extension = certificateExtensions(certificate.raw).find((candidate) => candidate.oid === oid);
  if (!extension) throw new Error(`fixture ${certificate.subject} lacks extension ${oid}`);
  return extension.value;
}

/** A DER INTEGER of one or two content bytes (a leading zero keeps values above 127 positive). */
function derSmallInteger(der: Buffer): number {
  if (der[0] !== 0x02) throw new Error('expected a DER INTEGER');
  return der.subarray(2, 2 + (der[1] as number)).readUIntBE(0, der[1] as number);
}

function encodeTcb(product: SyntheticSnpProduct, tcb: SnpTcb): Buffer {
  const bytes = Buffer.alloc(8);
  for (const { name, byte } of TCB_LAYOUT[product]) bytes[byte] = tcb[name] ?? 0;
  return bytes;
}

function sized(bytes: Buffer, length: number, what: string): Buffer {
  if (bytes.length > length) throw new Error(`${what} has ${bytes.length} bytes, at most ${length}`);
  return Buffer.concat([bytes, Buffer.alloc(length - bytes.length)]);
}

function build(product: SyntheticSnpProduct): SyntheticSnpPlatform {
  const lower = product.toLowerCase();
  const pems = ['vcek', 'ask', 'ark'].map((role) => fixture(`snp-test-${role}-${lower}.pem`).toString('latin1').trim());
  const certificates = pems.map((pem) => new X509Certificate(pem));
  const [vcek, , ark] = certificates as [X509Certificate, X509Certificate, X509Certificate];
  const vcekKey = crypto.createPrivateKey(fixture(`snp-test-vcek-${lower}-key.pem`));
  const chipId = sized(extensionValue(vcek, '1.3.6.1.4.1.3704.1.4'), 64, 'hwID');
  const tcb = Object.fromEntries(
    TCB_LAYOUT[product].map(({ name, arc }) => [name, derSmallInteger(extensionValue(vcek, `1.3.6.1.4.1.3704.1.3.${arc}`))]),
  ) as unknown as SnpTcb;
  const latestStart = Math.max(...certificates.map((certificate) => new Date(certificate.validFrom).getTime()));

  function report(reportData: Buffer, options: SyntheticSnpReportOptions = {}): Buffer {
    const version = options.version ?? DEFAULT_VERSION[product];
    const body = Buffer.alloc(REPORT_LENGTH);
    const tcbBytes = encodeTcb(product, { ...tcb, ...options.reportedTcb });
    const certifiedTcb = encodeTcb(product, tcb);
    body.writeUInt32LE(version, 0x000);
    body.writeUInt32LE(1, 0x004); // GUEST_SVN
    // POLICY: ABI 0.0, SMT allowed (16), the reserved bit 17 that must be set, DEBUG (19) on request.
    body.writeBigUInt64LE((1n << 16n) | (1n << 17n) | (options.debug ? 1n << 19n : 0n), 0x008);
    body.writeUInt32LE(0, 0x030); // VMPL
    body.writeUInt32LE(1, 0x034); // ECDSA P-384 with SHA-384
    certifiedTcb.copy(body, 0x038); // CURRENT_TCB
    body.writeBigUInt64LE(1n, 0x040); // PLATFORM_INFO: SMT enabled
    sized(reportData, 64, 'report data').copy(body, 0x050);
    (options.measurement ?? crypto.createHash('sha384').update(`TCF synthetic ${product} guest`).digest()).copy(body, 0x090);
    sized(options.hostData ?? Buffer.alloc(0), 32, 'host data').copy(body, 0x0c0);
    sized(options.idKeyDigest ?? Buffer.alloc(0), 48, 'ID key digest').copy(body, 0x0e0);
    sized(options.authorKeyDigest ?? Buffer.alloc(0), 48, 'author key digest').copy(body, 0x110);
    if (options.authorKeyDigest) body.writeUInt32LE(1, 0x048); // KEY_INFO.AUTHOR_KEY_EN
    crypto.createHash('sha256').update(reportData).digest().copy(body, 0x140); // REPORT_ID
    body.fill(0xff, 0x160, 0x180); // REPORT_ID_MA: no migration agent
    tcbBytes.copy(body, 0x180);
    if (version >= 3) Buffer.from(CPUID[product]).copy(body, 0x188);
    sized(options.chipId ?? chipId, 64, 'chip ID').copy(body, 0x1a0);
    certifiedTcb.copy(body, 0x1e0); // COMMITTED_TCB
    Buffer.from([13, 55, 1]).copy(body, 0x1e8); // current firmware 1.55.13 (build, minor, major)
    Buffer.from([13, 55, 1]).copy(body, 0x1ec);
    certifiedTcb.copy(body, 0x1f0); // LAUNCH_TCB
    options.beforeSigning?.(body);
    const signature = crypto.sign('sha384', body.subarray(0, SIGNED_LENGTH), { key: vcekKey, dsaEncoding: 'ieee-p1363' });
    Buffer.from(signature.subarray(0, 48)).reverse().copy(body, SIGNATURE_OFFSET);
    Buffer.from(signature.subarray(48)).reverse().copy(body, SIGNATURE_OFFSET + SIGNATURE_COMPONENT_LENGTH);
    return body;
  }

  function certificateTable(): Buffer {
    const entries = [GUID.vcek, GUID.ask, GUID.ark];
    const headerLength = (entries.length + 1) * 24;
    const header = Buffer.alloc(headerLength);
    let offset = headerLength;
    entries.forEach((guid, index) => {
      Buffer.from(guid.replace(/-/g, ''), 'hex').copy(header, index * 24);
      header.writeUInt32LE(offset, index * 24 + 16);
      header.writeUInt32LE((certificates[index] as X509Certificate).raw.length, index * 24 + 20);
      offset += (certificates[index] as X509Certificate).raw.length;
    });
    return Buffer.concat([header, ...certificates.map((certificate) => certificate.raw)]);
  }

  return {
    product,
    arks: { [product]: ark },
    certificates,
    certificatesPem: `${pems.join('\n')}\n`,
    chipId,
    tcb,
    at: new Date(latestStart + 86_400_000),
    certificateTable,
    report,
  };
}

const platforms = new Map<SyntheticSnpProduct, SyntheticSnpPlatform>();

/** The synthetic platform of one product line (Milan by default), read from the fixtures once. */
export function syntheticSnpPlatform(product: SyntheticSnpProduct = 'Milan'): SyntheticSnpPlatform {
  let platform = platforms.get(product);
  if (!platform) {
    platform = build(product);
    platforms.set(product, platform);
  }
  return platform;
}
