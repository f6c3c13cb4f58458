/**
 * The SEV-SNP verifier on real AMD Milan reports (shared/attestation-samples/sev-snp: virtee/sev's and
 * go-sev-guest's), judged inside and outside their VCEKs' lives, against other ARKs, with the chain cut and
 * changed one byte at a time; and on reports signed here by a synthetic AMD-shaped platform
 * (test/helpers/synthetic-snp.ts), since only those can break one rule at a time: another chip's ID, a TCB
 * the VCEK is not certified for, reserved bytes, flags, another product line. Expected values are read from
 * the raw bytes at the specification's offsets, never through the verifier.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { certificateExtensions } from '../../src/attestation/der.ts';
import { AMD_ARKS, AMD_ASKS } from '../../src/attestation/roots.ts';
import { parseSevSnpCertificates, parseSnpCertificateTable, verifySevSnpReport } from '../../src/attestation/sev-snp.ts';
import { AttestationError, type Verdict } from '../../src/attestation/verdict.ts';
import { parseCertificates, verifyChain } from '../../src/attestation/x509.ts';
import { flipByte, readSample, TODAY } from '../helpers/attestation-samples.ts';
import { syntheticSnpPlatform } from '../helpers/synthetic-snp.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/attestation');

function assertRefused(verdict: Verdict, reason: RegExp): void {
  assert.equal(verdict.verified, false, 'the report must be refused');
  assert.match(verdict.reason, reason);
}

function assertVerified(verdict: Verdict): void {
  assert.equal(verdict.reason, '');
  assert.equal(verdict.verified, true);
}

/** Raw report fields at the ATTESTATION_REPORT offsets, read independently of the verifier. */
const raw = {
  reportData: (report: Buffer) => report.subarray(0x50, 0x90).toString('hex'),
  measurement: (report: Buffer) => report.subarray(0x90, 0xc0).toString('hex'),
  hostData: (report: Buffer) => report.subarray(0xc0, 0xe0).toString('hex'),
  debug: (report: Buffer) => ((report[0x08 + 2] as number) & 0x08) !== 0,
  chipId: (report: Buffer) => report.subarray(0x1a0, 0x1e0).toString('hex'),
};

interface RealSample {
  name: string;
  report: () => Buffer;
  vcek: () => X509Certificate;
  /** ASK then ARK, as KDS serves cert_chain. */
  chain: () => X509Certificate[];
  notBefore: Date;
  notAfter: Date;
  at: Date;
}

const SAMPLES: RealSample[] = [
  {
    name: "virtee/sev's report_milan.hex",
    report: () => Buffer.from(readSample('sev-snp/report_milan.hex').toString('latin1').trim(), 'hex'),
    vcek: () => new X509Certificate(readSample('sev-snp/vcek_milan.der')),
    chain: () => parseCertificates(readSample('sev-snp/cert_chain_milan').toString('latin1')),
    notBefore: new Date('2023-04-03T19:23:43Z'),
    notAfter: new Date('2030-04-03T19:23:43Z'),
    at: new Date('2024-06-01T00:00:00Z'),
  },
  {
    name: "go-sev-guest's attestation.bin",
    report: () => readSample('sev-snp/attestation.bin'),
    vcek: () => new X509Certificate(readSample('sev-snp/vcek.testcer')),
    chain: () => parseCertificates(readSample('sev-snp/milan.testcer').toString('latin1')),
    notBefore: new Date('2022-09-24T00:55:28Z'),
    notAfter: new Date('2029-09-24T00:55:28Z'),
    at: new Date('2023-01-01T00:00:00Z'),
  },
];

function fullChain(sample: RealSample): X509Certificate[] {
  return [sample.vcek(), ...sample.chain()];
}

describe('verifySevSnpReport: real AMD Milan reports', () => {
  it('pins the ARK and ASK both samples were served with by AMD KDS, byte for byte', () => {
    for (const sample of SAMPLES) {
      const [ask, ark] = sample.chain();
      assert.ok(ark?.raw.equals(AMD_ARKS.Milan?.raw as Buffer), `${sample.name}: ARK`);
      assert.ok(ask?.raw.equals(AMD_ASKS.Milan?.raw as Buffer), `${sample.name}: ASK`);
    }
  });

  for (const sample of SAMPLES) {
    it(`verifies ${sample.name} inside its VCEK's life, with or without the ARK, and reads it at the specification's offsets`, () => {
      const report = sample.report();
      assert.equal(report.length, 0x4a0, 'the sample is exactly one ATTESTATION_REPORT, no response wrapper');
      for (const certificates of [fullChain(sample), fullChain(sample).slice(0, 2)]) {
        for (const at of [sample.at, new Date(sample.notBefore.getTime() + 1000), new Date(sample.notAfter.getTime() - 1000)]) {
          const verdict = verifySevSnpReport(report, certificates, { at });
          assertVerified(verdict);
          assert.equal(verdict.type, 'sev-snp');
          assert.equal(verdict.judgedAt, at.toISOString());
          assert.equal(verdict.measurement, raw.measurement(report));
          assert.equal(verdict.measurements.measurement, raw.measurement(report));
          assert.equal(verdict.measurements.hostData, raw.hostData(report));
          assert.equal(verdict.reportData, raw.reportData(report));
          assert.equal(verdict.debug, raw.debug(report));
          assert.equal(verdict.tcbStatus, 'NotApplicable');
          assert.equal(verdict.details.product, 'Milan');
          assert.equal(verdict.details.reportVersion, report.readUInt32LE(0));
          assert.equal(verdict.details.chipId, raw.chipId(report));
          // Neither guest was launched with an ID block, so nobody signed its image.
          assert.equal(verdict.signer, '');
        }
      }
    });

    it(`reads ${sample.name}'s reported TCB as the VCEK certifies it`, () => {
      const report = sample.report();
      const verdict = verifySevSnpReport(report, fullChain(sample), { at: sample.at });
      const levels = new Map(certificateExtensions(sample.vcek().raw).map((extension) => [extension.oid, extension.value[2]]));
      assert.equal(verdict.details.reportedTcbBootloader, report[0x180]);
      assert.equal(verdict.details.reportedTcbBootloader, levels.get('1.3.6.1.4.1.3704.1.3.1'));
      assert.equal(verdict.details.reportedTcbTee, levels.get('1.3.6.1.4.1.3704.1.3.2'));
      assert.equal(verdict.details.reportedTcbSnp, report[0x186]);
      assert.equal(verdict.details.reportedTcbSnp, levels.get('1.3.6.1.4.1.3704.1.3.3'));
      assert.equal(verdict.details.reportedTcbMicrocode, report[0x187]);
      assert.equal(verdict.details.reportedTcbMicrocode, levels.get('1.3.6.1.4.1.3704.1.3.8'));
    });

    it(`refuses ${sample.name} before its VCEK's notBefore and after its notAfter; today only if the VCEK has expired`, () => {
      const certificates = fullChain(sample);
      assertRefused(verifySevSnpReport(sample.report(), certificates, { at: new Date(sample.notBefore.getTime() - 1000) }), /"SEV-VCEK" is not valid until/);
      assertRefused(verifySevSnpReport(sample.report(), certificates, { at: new Date(sample.notAfter.getTime() + 1000) }), /"SEV-VCEK" expired at/);
      assert.equal(verifySevSnpReport(sample.report(), certificates, { at: TODAY }).verified, TODAY < sample.notAfter);
    });

    it(`refuses ${sample.name} against another product line's ARK, a test ARK, or with no ARK pinned for Milan`, () => {
      const report = sample.report();
      const test = syntheticSnpPlatform();
      for (const ark of [AMD_ARKS.Genoa, AMD_ARKS.Turin, test.arks.Milan] as X509Certificate[]) {
        assertRefused(verifySevSnpReport(report, fullChain(sample).slice(0, 2), { at: sample.at, arks: { Milan: ark } }), /"SEV-Milan", which is not a pinned root nor signed by one/);
        assertRefused(verifySevSnpReport(report, fullChain(sample), { at: sample.at, arks: { Milan: ark } }), /"ARK-Milan", which is not a pinned root nor signed by one/);
      }
      assertRefused(verifySevSnpReport(report, fullChain(sample), { at: sample.at, arks: { Genoa: AMD_ARKS.Genoa as X509Certificate } }), /no ARK is pinned for Milan/);
    });

    it(`refuses ${sample.name} with its chain cut, reordered, padded, or another chip's VCEK`, () => {
      const report = sample.report();
      const [vcek, ask, ark] = fullChain(sample) as [X509Certificate, X509Certificate, X509Certificate];
      const at = { at: sample.at };
      assertRefused(verifySevSnpReport(report, [vcek], at), /"SEV-VCEK", which is not a pinned root nor signed by one/);
      assertRefused(verifySevSnpReport(report, [vcek, ark], at), /"ARK-Milan" issues "SEV-VCEK"|not signed by "ARK-Milan"/);
      assertRefused(verifySevSnpReport(report, [], at), /no VCEK certificate/);
      assertRefused(verifySevSnpReport(report, [ask, vcek, ark], at), /the VCEK is issued by "ARK-Milan", which names no SEV-SNP product line/);
      assertRefused(verifySevSnpReport(report, [vcek, ask, ark, ark], at), /4 certificates were given/);
      const other = SAMPLES.find((candidate) => candidate !== sample) as RealSample;
      const bothValid = new Date(Math.max(sample.notBefore.getTime(), other.notBefore.getTime()) + 1000);
      assertRefused(verifySevSnpReport(report, fullChain(other), { at: bothValid }), /report signature does not verify with the VCEK/);
    });

    it(`refuses ${sample.name} with any single byte changed, anywhere (property)`, () => {
      const report = sample.report();
      const certificates = fullChain(sample);
      fc.assert(
        fc.property(fc.nat({ max: report.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, xor) => {
          const verdict = verifySevSnpReport(flipByte(report, position, xor), certificates, { at: sample.at });
          return !verdict.verified && verdict.reason !== '';
        }),
        { numRuns: 300 },
      );
    });
  }

  it('refuses every single-bit change of every byte of a real report, signed region and signature alike', () => {
    const [sample] = SAMPLES as [RealSample];
    const report = sample.report();
    const certificates = fullChain(sample);
    for (let position = 0; position < report.length; position += 1) {
      const verdict = verifySevSnpReport(flipByte(report, position, 0x01), certificates, { at: sample.at });
      assert.equal(verdict.verified, false, `byte 0x${position.toString(16)} ^ 0x01 was accepted`);
    }
  });

  it('names what changed where the layout, not the signature, says it first', () => {
    const [sample] = SAMPLES as [RealSample];
    const report = sample.report();
    const options = { at: sample.at };
    const certificates = fullChain(sample);
    assertRefused(verifySevSnpReport(report.subarray(0, 0x49f), certificates, options), /1183 bytes, an SEV-SNP ATTESTATION_REPORT has 1184/);
    assertRefused(verifySevSnpReport(Buffer.concat([report, Buffer.alloc(1)]), certificates, options), /1185 bytes/);
    const version1 = Buffer.from(report);
    version1.writeUInt32LE(1, 0);
    assertRefused(verifySevSnpReport(version1, certificates, options), /report version 1 is not one of 2, 3, 4, 5/);
    const version6 = Buffer.from(report);
    version6.writeUInt32LE(6, 0);
    assertRefused(verifySevSnpReport(version6, certificates, options), /report version 6/);
    const rsa = Buffer.from(report);
    rsa.writeUInt32LE(2, 0x34);
    assertRefused(verifySevSnpReport(rsa, certificates, options), /signature algorithm 2 is not 1/);
    // A v2 report read as v3 meets zero CPUID bytes, which name no product line.
    const asVersion3 = Buffer.from(report);
    asVersion3.writeUInt32LE(3, 0);
    assertRefused(verifySevSnpReport(asVersion3, certificates, options), /CPUID \(family 00h model 00h stepping 00h\) is no SEV-SNP product line/);
    assertRefused(verifySevSnpReport(flipByte(report, 0x2a0 + 71), certificates, options), /component r is wider than a P-384 scalar/);
    assertRefused(verifySevSnpReport(flipByte(report, 0x2e8 + 48), certificates, options), /component s is wider than a P-384 scalar/);
    assertRefused(verifySevSnpReport(flipByte(report, 0x2a0), certificates, options), /report signature does not verify/);
    assertRefused(verifySevSnpReport(flipByte(report, 0x90), certificates, options), /report signature does not verify/);
  });

  it('refuses an invalid verification time', () => {
    const [sample] = SAMPLES as [RealSample];
    assertRefused(verifySevSnpReport(sample.report(), fullChain(sample), { at: new Date(Number.NaN) }), /not a valid date/);
  });
});

describe('parseSevSnpCertificates', () => {
  it('orders a PEM bundle VCEK first whatever order it comes in, and completes a lone DER VCEK with the pinned ASK', () => {
    const [sample] = SAMPLES as [RealSample];
    const [vcek, ask, ark] = fullChain(sample) as [X509Certificate, X509Certificate, X509Certificate];
    const scrambled = [ark, vcek, ask].map((certificate) => certificate.toString()).join('\n');
    assert.deepEqual(parseSevSnpCertificates(scrambled).map((certificate) => certificate.raw), [vcek.raw, ask.raw, ark.raw]);
    const fromDer = parseSevSnpCertificates(readSample('sev-snp/vcek_milan.der'));
    assert.deepEqual(fromDer.map((certificate) => certificate.raw), [vcek.raw, ask.raw]);
    assertVerified(verifySevSnpReport(sample.report(), fromDer, { at: sample.at }));
  });

  it('refuses bundles that are not one VCEK and its chain', () => {
    const [sample] = SAMPLES as [RealSample];
    const [vcek, ask, ark] = fullChain(sample) as [X509Certificate, X509Certificate, X509Certificate];
    const otherVcek = (SAMPLES[1] as RealSample).vcek();
    assert.throws(() => parseSevSnpCertificates([ask, ark].map(String).join('\n')), /0 end-entity certificates/);
    assert.throws(() => parseSevSnpCertificates([vcek, otherVcek, ask].map(String).join('\n')), /2 end-entity certificates/);
    assert.throws(() => parseSevSnpCertificates([vcek, ask, AMD_ARKS.Genoa as X509Certificate].map(String).join('\n')), /"ARK-Genoa" is not on the VCEK's chain/);
    assert.throws(() => parseSevSnpCertificates('not a certificate'), AttestationError);
  });

  it("completes virtee/sev's real Turin VCEK with the pinned Turin ASK, up to the pinned Turin ARK; it names its chip by 8 bytes and has an FMC level", () => {
    const vcek = fs.readFileSync(path.join(FIXTURES, 'snp-virtee-vcek-turin.der'));
    const certificates = parseSevSnpCertificates(vcek);
    assert.equal(certificates.length, 2);
    const chain = verifyChain(certificates, [AMD_ARKS.Turin as X509Certificate], new Date('2025-01-01T00:00:00Z'));
    assert.deepEqual(chain.map((certificate) => /CN=(.*)$/.exec(certificate.subject)?.[1]), ['SEV-VCEK', 'SEV-Turin', 'ARK-Turin']);
    const extensions = new Map(certificateExtensions(vcek).map((extension) => [extension.oid, extension.value]));
    assert.equal(extensions.get('1.3.6.1.4.1.3704.1.4')?.length, 8);
    assert.ok(extensions.has('1.3.6.1.4.1.3704.1.3.9'));
    assert.ok(!extensions.has('1.3.6.1.4.1.3704.1.3.4'));
  });

  it('pins three product lines whose ARKs are self-signed and sign their ASKs', () => {
    for (const product of ['Milan', 'Genoa', 'Turin']) {
      const ark = AMD_ARKS[product] as X509Certificate;
      const ask = AMD_ASKS[product] as X509Certificate;
      assert.match(ark.subject, new RegExp(`CN=ARK-${product}$`));
      assert.match(ask.subject, new RegExp(`CN=SEV-${product}$`));
      assert.ok(ark.verify(ark.publicKey), `${product} ARK is self-signed`);
      assert.ok(ask.checkIssued(ark) && ask.verify(ark.publicKey), `${product} ASK is signed by its ARK`);
    }
  });
});

/** A GHCB certificate table laid out here by hand: entries (GUID text order, offset, length), a zero entry, then the blobs. */
function certificateTable(entries: Array<{ guid: string; blob: Buffer; offset?: number; length?: number }>, terminated = true): Buffer {
  const header = Buffer.alloc((entries.length + (terminated ? 1 : 0)) * 24);
  let offset = header.length;
  entries.forEach((entry, index) => {
    Buffer.from(entry.guid.replace(/-/g, ''), 'hex').copy(header, index * 24);
    header.writeUInt32LE(entry.offset ?? offset, index * 24 + 16);
    header.writeUInt32LE(entry.length ?? entry.blob.length, index * 24 + 20);
    offset += entry.blob.length;
  });
  return Buffer.concat([header, ...entries.map((entry) => entry.blob)]);
}

const GUID = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
  crl: '92f81bc3-5811-4d3d-97ff-d19f88dc67ea',
};

describe('parseSnpCertificateTable (configfs-tsm auxblob)', () => {
  const [vcek, ask, ark] = syntheticSnpPlatform().certificates as [X509Certificate, X509Certificate, X509Certificate];

  it('returns VCEK, ASK, ARK whatever the table order, skipping entries of other GUIDs, and tolerating padding after the blobs', () => {
    const table = certificateTable([
      { guid: GUID.ark, blob: ark.raw },
      { guid: GUID.crl, blob: Buffer.from('a CRL') },
      { guid: GUID.ask, blob: ask.raw },
      { guid: GUID.vcek, blob: vcek.raw },
    ]);
    const padded = Buffer.concat([table, Buffer.alloc(4096 - (table.length % 4096))]);
    for (const blob of [table, padded]) {
      assert.deepEqual(parseSnpCertificateTable(blob).map((certificate) => certificate.raw), [vcek.raw, ask.raw, ark.raw]);
    }
    assert.deepEqual(parseSnpCertificateTable(certificateTable([{ guid: GUID.vcek, blob: vcek.raw }])).map((certificate) => certificate.raw), [vcek.raw]);
  });

  it('puts a VLEK first when the table has no VCEK', () => {
    const table = certificateTable([{ guid: GUID.ask, blob: ask.raw }, { guid: GUID.vlek, blob: vcek.raw }]);
    assert.deepEqual(parseSnpCertificateTable(table).map((certificate) => certificate.raw), [vcek.raw, ask.raw]);
  });

  it('refuses tables that are empty, unterminated, out of bounds, duplicated, without a VCEK, or holding no DER', () => {
    assert.throws(() => parseSnpCertificateTable(Buffer.alloc(0)), /empty: the host supplied no certificates/);
    assert.throws(() => parseSnpCertificateTable(certificateTable([{ guid: GUID.vcek, blob: Buffer.alloc(0) }], false)), /no terminating all-zero entry/);
    assert.throws(() => parseSnpCertificateTable(certificateTable([{ guid: GUID.vcek, blob: vcek.raw, length: vcek.raw.length + 1 }])), /VCEK entry .* lies outside/);
    assert.throws(() => parseSnpCertificateTable(certificateTable([{ guid: GUID.vcek, blob: vcek.raw, offset: 0 }])), /VCEK entry \(offset 0,/);
    assert.throws(
      () => parseSnpCertificateTable(certificateTable([{ guid: GUID.vcek, blob: vcek.raw }, { guid: GUID.vcek, blob: vcek.raw }])),
      /two VCEK entries/,
    );
    assert.throws(() => parseSnpCertificateTable(certificateTable([{ guid: GUID.ask, blob: ask.raw }, { guid: GUID.ark, blob: ark.raw }])), /holds no VCEK/);
    assert.throws(() => parseSnpCertificateTable(certificateTable([{ guid: GUID.vcek, blob: Buffer.from('not DER') }])), /VCEK is not a DER certificate/);
  });

  it('reads the GUIDs in the byte order of their text (RFC 4122), not the mixed-endian EFI order', () => {
    const swapped = Buffer.from(GUID.vcek.replace(/-/g, ''), 'hex');
    swapped.subarray(0, 4).reverse();
    swapped.subarray(4, 6).reverse();
    swapped.subarray(6, 8).reverse();
    const mixedEndian = swapped.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
    assert.throws(() => parseSnpCertificateTable(certificateTable([{ guid: mixedEndian, blob: vcek.raw }])), /holds no VCEK/);
  });
});

describe('verifySevSnpReport: reports of a synthetic AMD-shaped platform', () => {
  const milan = syntheticSnpPlatform('Milan');
  const turin = syntheticSnpPlatform('Turin');
  const reportData = Buffer.from('worker binding: a hash of the worker keys and id'.padEnd(64, '.'));

  for (const platform of [milan, turin]) {
    const options = { at: platform.at, arks: platform.arks };

    it(`${platform.product}: verifies its report over the given report data, through the certificates as an array, PEM or auxblob`, () => {
      const measurement = Buffer.alloc(48, 0x5a);
      const report = platform.report(reportData, { measurement });
      for (const certificates of [platform.certificates, parseSevSnpCertificates(platform.certificatesPem), parseSnpCertificateTable(platform.certificateTable())]) {
        const verdict = verifySevSnpReport(report, certificates, options);
        assertVerified(verdict);
        assert.equal(verdict.reportData, reportData.toString('hex'));
        assert.equal(verdict.measurement, measurement.toString('hex'));
        assert.equal(verdict.debug, false);
        assert.equal(verdict.details.product, platform.product);
        assert.equal(verdict.details.chipId, platform.chipId.toString('hex'));
        assert.equal(verdict.details.reportedTcbSnp, platform.tcb.snp);
        assert.equal(verdict.details.reportedTcbMicrocode, platform.tcb.microcode);
      }
    });

    it(`${platform.product}: is refused against AMD's own ARKs, and with the test ARK pinned under another line`, () => {
      const report = platform.report(reportData);
      assertRefused(verifySevSnpReport(report, platform.certificates, { at: platform.at }), new RegExp(`"ARK-${platform.product}", which is not a pinned root nor signed by one`));
      const other = platform === milan ? turin : milan;
      assertRefused(verifySevSnpReport(report, platform.certificates, { at: platform.at, arks: { [platform.product]: other.arks[other.product] as X509Certificate } }), /not a pinned root nor signed by one/);
      assertRefused(verifySevSnpReport(report, platform.certificates.slice(0, 1), options), /"SEV-VCEK", which is not a pinned root nor signed by one/);
    });

    it(`${platform.product}: reports the debug policy bit`, () => {
      const verdict = verifySevSnpReport(platform.report(reportData, { debug: true }), platform.certificates, options);
      assertVerified(verdict);
      assert.equal(verdict.debug, true);
      assert.match(String(verdict.details.policy), /^00000000000b0000$/);
    });

    it(`${platform.product}: refuses a report with another chip's CHIP_ID (the VCEK's hwID is not the chip's)`, () => {
      const otherChip = Buffer.from(platform.chipId);
      otherChip[0] = (otherChip[0] as number) ^ 0xff;
      assertRefused(verifySevSnpReport(platform.report(reportData, { chipId: otherChip }), platform.certificates, options), /the VCEK belongs to chip [0-9a-f]+, the report's CHIP_ID is/);
      const trailing = Buffer.from(platform.chipId);
      trailing[63] = 1;
      const reason = platform.product === 'Turin' ? /the VCEK belongs to chip [0-9a-f]{16}, the report's CHIP_ID/ : /the VCEK belongs to chip/;
      assertRefused(verifySevSnpReport(platform.report(reportData, { chipId: trailing }), platform.certificates, options), reason);
    });

    const components = platform.product === 'Turin' ? (['fmc', 'bootloader', 'tee', 'snp', 'microcode'] as const) : (['bootloader', 'tee', 'snp', 'microcode'] as const);
    for (const component of components) {
      it(`${platform.product}: refuses a reported TCB whose ${component} level the VCEK is not certified for, higher or lower`, () => {
        const certified = platform.tcb[component] as number;
        for (const level of [certified + 1, certified - 1].filter((value) => value >= 0 && value <= 255)) {
          const report = platform.report(reportData, { reportedTcb: { [component]: level } });
          assertRefused(verifySevSnpReport(report, platform.certificates, options), new RegExp(`certified for ${component} patch level ${certified}, the report's REPORTED_TCB has ${level}`));
        }
      });
    }

    it(`${platform.product}: refuses a reported TCB with a reserved byte set`, () => {
      const reservedByte = platform.product === 'Turin' ? 4 : 2;
      const report = platform.report(reportData, { beforeSigning: (bytes) => void (bytes[0x180 + reservedByte] = 1) });
      assertRefused(verifySevSnpReport(report, platform.certificates, options), new RegExp(`REPORTED_TCB byte ${reservedByte} is 1, but reserved in ${platform.product}'s TCB_VERSION`));
    });

    it(`${platform.product}: names the signer: the author key digest when there is one, else the ID key digest`, () => {
      const idKeyDigest = Buffer.alloc(48, 0x1d);
      const authorKeyDigest = Buffer.alloc(48, 0xa7);
      const byId = verifySevSnpReport(platform.report(reportData, { idKeyDigest }), platform.certificates, options);
      assertVerified(byId);
      assert.equal(byId.signer, idKeyDigest.toString('hex'));
      const byAuthor = verifySevSnpReport(platform.report(reportData, { idKeyDigest, authorKeyDigest }), platform.certificates, options);
      assertVerified(byAuthor);
      assert.equal(byAuthor.signer, authorKeyDigest.toString('hex'));
      assert.equal(byAuthor.measurements.idKeyDigest, idKeyDigest.toString('hex'));
      assert.equal(byAuthor.details.authorKeyEnabled, true);
    });

    it(`${platform.product}: refuses after the VCEK expires and before it is issued`, () => {
      const report = platform.report(reportData);
      const vcek = platform.certificates[0] as X509Certificate;
      assertRefused(verifySevSnpReport(report, platform.certificates, { ...options, at: new Date(new Date(vcek.validTo).getTime() + 1000) }), /"SEV-VCEK" expired at/);
      assertRefused(verifySevSnpReport(report, platform.certificates, { ...options, at: new Date(new Date(vcek.validFrom).getTime() - 1000) }), /"SEV-VCEK" is not valid until/);
    });

    it(`${platform.product}: refuses any single-byte change of its report (property)`, () => {
      const report = platform.report(reportData);
      fc.assert(
        fc.property(fc.nat({ max: report.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, xor) => {
          return !verifySevSnpReport(flipByte(report, position, xor), platform.certificates, options).verified;
        }),
        { numRuns: 200 },
      );
    });
  }

  it('Turin: reads the Turin TCB layout (FMC, bootloader, TEE, SNP at bytes 0-3, microcode at 7) and an 8-byte chip ID', () => {
    const report = turin.report(reportData);
    const verdict = verifySevSnpReport(report, turin.certificates, { at: turin.at, arks: turin.arks });
    assertVerified(verdict);
    assert.deepEqual(
      [verdict.details.reportedTcbFmc, verdict.details.reportedTcbBootloader, verdict.details.reportedTcbTee, verdict.details.reportedTcbSnp, verdict.details.reportedTcbMicrocode],
      [report[0x180], report[0x181], report[0x182], report[0x183], report[0x187]],
    );
    assert.ok(turin.chipId.subarray(8).every((byte) => byte === 0) && turin.chipId.subarray(0, 8).some((byte) => byte !== 0));
    assert.equal(verdict.details.reportVersion, 5);
  });

  describe('report versions and their reserved bytes', () => {
    const options = { at: milan.at, arks: milan.arks };
    const verify = (report: Buffer) => verifySevSnpReport(report, milan.certificates, options);
    const setByte = (offset: number, value = 1) => (bytes: Buffer) => void (bytes[offset] = value);

    it('accepts versions 2, 3, 4 and 5, CPUID from version 3 on, mitigation vectors in version 5', () => {
      for (const version of [2, 3, 4, 5] as const) {
        const verdict = verify(milan.report(reportData, { version }));
        assertVerified(verdict);
        assert.equal(verdict.details.reportVersion, version);
        assert.equal('cpuid' in verdict.details, version >= 3);
      }
      const mitigations = milan.report(reportData, { version: 5, beforeSigning: (bytes) => void bytes.writeBigUInt64LE(0x5n, 0x1f8) });
      const verdict = verify(mitigations);
      assertVerified(verdict);
      assert.equal(verdict.details.launchMitVector, '0000000000000005');
    });

    const reservedByVersion: Array<[number, number[]]> = [
      [2, [0x04c, 0x04f, 0x188, 0x18a, 0x19f, 0x1eb, 0x1ef, 0x1f8, 0x200, 0x208, 0x29f, 0x2a0 + 144, 0x49f]],
      [3, [0x04c, 0x18b, 0x19f, 0x1eb, 0x1ef, 0x1f8, 0x207, 0x208, 0x29f, 0x49f]],
      [5, [0x04c, 0x18b, 0x1eb, 0x1ef, 0x208, 0x29f, 0x2a0 + 144, 0x49f]],
    ];
    for (const [version, offsets] of reservedByVersion) {
      it(`refuses a signed version ${version} report with any of its reserved bytes set`, () => {
        for (const offset of offsets) {
          // The signature's unused tail is outside what is signed: set it after signing.
          const report = offset >= 0x2a0 ? flipByte(milan.report(reportData, { version: version as 2 | 3 | 5 }), offset) : milan.report(reportData, { version: version as 2 | 3 | 5, beforeSigning: setByte(offset) });
          assertRefused(verify(report), new RegExp(`byte 0x${offset.toString(16)} is not zero, but reserved in a version ${version} report`));
        }
      });
    }

    it('refuses a CPUID of another product line or of none', () => {
      const genoa = milan.report(reportData, { beforeSigning: setByte(0x189, 0x11) });
      assertRefused(verify(genoa), /CPUID \(family 19h model 11h stepping 01h\) is a Genoa, its VCEK is certified for Milan/);
      const unknown = milan.report(reportData, { beforeSigning: setByte(0x188, 0x17) });
      assertRefused(verify(unknown), /CPUID \(family 17h model 01h stepping 01h\) is no SEV-SNP product line/);
    });

    it('refuses policies with bit 17 clear or reserved bits set, and platform info bits the version does not define', () => {
      assertRefused(verify(milan.report(reportData, { beforeSigning: (bytes) => void bytes.writeBigUInt64LE(1n << 16n, 0x08) })), /POLICY bit 17 is clear/);
      assertRefused(verify(milan.report(reportData, { beforeSigning: setByte(0x08 + 3, 0x04) })), /POLICY 0x4030000 sets reserved bits/);
      const aliasCheck = (version: 2 | 3) => milan.report(reportData, { version, beforeSigning: setByte(0x40, 0x21) });
      assertRefused(verify(aliasCheck(2)), /PLATFORM_INFO 0x21 sets bits reserved in a version 2 report/);
      assertVerified(verify(aliasCheck(3)));
      const tio = (version: 3 | 5) => milan.report(reportData, { version, beforeSigning: setByte(0x40, 0x81) });
      assertRefused(verify(tio(3)), /PLATFORM_INFO 0x81 sets bits reserved in a version 3 report/);
      assertVerified(verify(tio(5)));
      assertRefused(verify(milan.report(reportData, { version: 5, beforeSigning: setByte(0x40, 0x41) })), /PLATFORM_INFO 0x41/);
      assertRefused(verify(milan.report(reportData, { version: 5, beforeSigning: setByte(0x41, 0x01) })), /PLATFORM_INFO 0x101/);
    });

    it('refuses a report that names a VLEK or no key as its signer, or sets reserved KEY_INFO bits', () => {
      assertRefused(verify(milan.report(reportData, { beforeSigning: setByte(0x48, 1 << 2) })), /signed by VLEK, not a VCEK/);
      assertRefused(verify(milan.report(reportData, { beforeSigning: setByte(0x48, 7 << 2) })), /signed by none, not a VCEK/);
      assertRefused(verify(milan.report(reportData, { beforeSigning: setByte(0x48, 1 << 5) })), /KEY_INFO 0x20 sets reserved bits/);
    });

    it('accepts a masked chip ID only when CHIP_ID is zero', () => {
      const masked = milan.report(reportData, { chipId: Buffer.alloc(64), beforeSigning: setByte(0x48, 1 << 1) });
      const verdict = verify(masked);
      assertVerified(verdict);
      assert.equal(verdict.details.chipIdMasked, true);
      const maskedButPresent = milan.report(reportData, { beforeSigning: setByte(0x48, 1 << 1) });
      assertRefused(verify(maskedButPresent), /MASK_CHIP_KEY is set but CHIP_ID is not zero/);
      assertRefused(verify(milan.report(reportData, { chipId: Buffer.alloc(64) })), /the VCEK belongs to chip/);
    });
  });
});
