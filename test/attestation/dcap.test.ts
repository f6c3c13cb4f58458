/**
 * The DCAP verifier on real Intel evidence: the SGX v3 and TDX v4 quotes of shared/attestation-samples
 * with their collateral, google/go-tdx-guest's production TDX quote with its PCS responses, and a real
 * TDX v5 (TD 1.5) quote with collateral (test/fixtures/attestation/tdx-fixtures.md). Each is judged at its
 * own time, today, against other roots and collateral, and changed one byte at a time; the v5 parser is
 * also fed v5 quotes built from the v4 sample. Last, a differential run against @phala/dcap-qvl.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { verify as dcapQvlVerify } from '@phala/dcap-qvl';
import { dcapCollateralRequest, parseDcapCollateral, parseDcapQuote, verifyDcapQuote, type DcapCollateral } from '../../src/attestation/dcap.ts';
import { AWS_NITRO_ROOT, INTEL_SGX_ROOT_CA } from '../../src/attestation/roots.ts';
import type { Verdict } from '../../src/attestation/verdict.ts';
import { flipByte, readSample, TODAY } from '../helpers/attestation-samples.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/attestation');

function readCollateral(json: Buffer | string): DcapCollateral {
  return parseDcapCollateral(JSON.parse(json.toString()));
}

interface Sample {
  name: string;
  quote: Buffer;
  collateral: DcapCollateral;
  at: Date;
}

const SGX: Sample = {
  name: 'SGX v3 (dcap-qvl sample)',
  quote: readSample('sgx-dcap/sgx_quote'),
  collateral: readCollateral(readSample('sgx-dcap/sgx_quote_collateral.json')),
  at: new Date('2025-06-20T00:00:00Z'),
};
const TDX: Sample = {
  name: 'TDX v4 (dcap-qvl sample)',
  quote: readSample('tdx/tdx_quote'),
  collateral: readCollateral(readSample('tdx/tdx_quote_collateral.json')),
  at: new Date('2025-06-20T00:00:00Z'),
};
/** go-tdx-guest appended 39 bytes to the quote Intel's QE produced ("extra bytes(only for testing purpose)"). */
const GO_TDX_GUEST_APPENDED = 39;
const GO_TDX_GUEST_PUBLISHED = readSample('tdx/tdx_prod_quote_SPR_E4.dat');
const GO_TDX_GUEST: Sample = {
  name: 'TDX v4 (go-tdx-guest SPR E4, as the QE produced it)',
  quote: GO_TDX_GUEST_PUBLISHED.subarray(0, GO_TDX_GUEST_PUBLISHED.length - GO_TDX_GUEST_APPENDED),
  collateral: readCollateral(fs.readFileSync(path.join(FIXTURES, 'tdx-go-tdx-guest-collateral.json'))),
  at: new Date('2023-07-01T01:00:00Z'),
};
const TDX_V5: Sample = {
  name: 'TDX v5 TD 1.5 (dcap-qvl sample)',
  quote: fs.readFileSync(path.join(FIXTURES, 'tdx-v5-quote-dcap-qvl')),
  collateral: readCollateral(fs.readFileSync(path.join(FIXTURES, 'tdx-v5-quote-dcap-qvl-collateral.json'))),
  at: new Date('2026-02-25T00:00:00Z'),
};

function judge(sample: Sample, changes: { quote?: Buffer; collateral?: Partial<DcapCollateral>; at?: Date; roots?: readonly X509Certificate[] } = {}): Verdict {
  return verifyDcapQuote(changes.quote ?? sample.quote, { ...sample.collateral, ...changes.collateral }, { at: changes.at ?? sample.at, ...(changes.roots ? { roots: changes.roots } : {}) });
}

function assertRefused(verdict: Verdict, reason: RegExp): void {
  assert.equal(verdict.verified, false, 'the quote must be refused');
  assert.match(verdict.reason, reason);
}

/** A copy of `text` with the character at `position` changed. */
function changeCharacter(text: string, position: number, xor = 1): string {
  return text.slice(0, position) + String.fromCharCode(text.charCodeAt(position) ^ xor) + text.slice(position + 1);
}

const SELF_MADE_ROOT = new X509Certificate(fs.readFileSync(path.join(FIXTURES, 'nitro-test-root.pem')));
const TCB_NOT_SUPPORTED = /^no TCB level of the TCB info matches this platform \(TCB not supported\)/;

describe('verifyDcapQuote: the real SGX and TDX samples', () => {
  it('verifies the SGX v3 quote at 2025-06-20: ConfigurationAndSWHardeningNeeded, INTEL-SA-00289 and INTEL-SA-00615', () => {
    const verdict = judge(SGX);
    assert.equal(verdict.verified, true, verdict.reason);
    assert.equal(verdict.type, 'sgx-dcap');
    assert.equal(verdict.tcbStatus, 'ConfigurationAndSWHardeningNeeded');
    assert.deepEqual(verdict.advisoryIds, ['INTEL-SA-00289', 'INTEL-SA-00615']);
    assert.equal(verdict.measurement, '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb');
    assert.equal(verdict.measurements.mrEnclave, verdict.measurement);
    assert.equal(verdict.signer, '815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6');
    assert.equal(verdict.measurements.mrSigner, verdict.signer);
    assert.equal(Buffer.from(verdict.reportData, 'hex').subarray(0, 13).toString(), 'Hello, world!');
    assert.equal(verdict.debug, false);
    assert.deepEqual(
      { ...verdict.details, cpuSvn: undefined, configId: undefined, isvExtProdId: undefined, isvFamilyId: undefined, qeId: undefined },
      {
        quoteVersion: 3,
        qeSvn: 10,
        attributes: '0500000000000000e700000000000000',
        miscSelect: '00000000',
        configSvn: 0,
        fmspc: '00a067110000',
        pceId: '0000',
        pckCa: 'processor',
        pceSvn: 13,
        sgxTcbComponents: '11,11,2,2,255,1,0,0,0,0,0,0,0,0,0,0',
        sgxType: 'Standard',
        tcbEvaluationDataNumber: 17,
        tcbInfoNextUpdate: '2025-07-19T10:56:11.000Z',
        qeIdentityNextUpdate: '2025-07-19T10:01:18.000Z',
        qeTcbStatus: 'UpToDate',
        platformTcbStatus: 'ConfigurationAndSWHardeningNeeded',
        tcbDate: '2024-03-13T00:00:00.000Z',
        collateralExpiresAt: '2025-07-19T10:01:18.000Z',
        cpuSvn: undefined,
        configId: undefined,
        isvExtProdId: undefined,
        isvFamilyId: undefined,
        qeId: undefined,
      },
    );
  });

  it('verifies the TDX v4 quote at 2025-06-20: UpToDate, with its 70 bytes of zero padding reported', () => {
    const verdict = judge(TDX);
    assert.equal(verdict.verified, true, verdict.reason);
    assert.equal(verdict.type, 'tdx');
    assert.equal(verdict.tcbStatus, 'UpToDate');
    assert.deepEqual(verdict.advisoryIds, []);
    assert.equal(verdict.measurement, '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7');
    assert.equal(verdict.measurements.mrTd, verdict.measurement);
    assert.deepEqual(Object.keys(verdict.measurements), ['mrTd', 'mrSeam', 'mrSignerSeam', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3', 'mrConfigId', 'mrOwner', 'mrOwnerConfig']);
    assert.equal(verdict.measurements.rtmr0, '44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0');
    assert.equal(verdict.signer, '');
    assert.equal(verdict.reportData.length, 128);
    assert.equal(verdict.debug, false);
    assert.equal(verdict.details.quoteVersion, 4);
    assert.equal(verdict.details.paddingLength, 70);
    assert.equal(verdict.details.fmspc, 'b0c06f000000');
    assert.equal(verdict.details.pckCa, 'platform');
    assert.equal(verdict.details.teeTcbSvn, '06010300000000000000000000000000');
    assert.equal(verdict.details.tdxModuleTcbStatus, 'UpToDate', 'TDX module TDX_01 at SVN 6');
    assert.equal(verdict.details.qeTcbStatus, 'UpToDate');
  });

  it('refuses every sample today: its collateral has expired', () => {
    for (const sample of [SGX, TDX, GO_TDX_GUEST, TDX_V5]) {
      const verdict = judge(sample, { at: TODAY });
      assertRefused(verdict, /expired/);
      assert.equal(verdict.judgedAt, TODAY.toISOString());
    }
  });

  it('refuses a time before the collateral was issued', () => {
    assertRefused(judge(SGX, { at: new Date('2025-06-19T10:00:00Z') }), /CRL is not valid until 2025-06-19/);
  });

  it('refuses the samples against another root: AWS Nitro, a self-made root', () => {
    for (const sample of [SGX, TDX]) {
      for (const root of [AWS_NITRO_ROOT, SELF_MADE_ROOT]) {
        assertRefused(judge(sample, { roots: [root] }), /chain ends at "Intel SGX Root CA", which is not a pinned root/);
      }
      assert.equal(judge(sample, { roots: [SELF_MADE_ROOT, INTEL_SGX_ROOT_CA] }).verified, true, 'another root beside Intel changes nothing');
    }
  });

  it("refuses each quote with the other TEE's collateral", () => {
    assertRefused(judge(SGX, { collateral: TDX.collateral }), /PCK CRL was not issued by "Intel SGX PCK Processor CA"|pck_crl_issuer_chain starts at "Intel SGX PCK Platform CA"/);
    assertRefused(judge(SGX, { collateral: { tcb_info: TDX.collateral.tcb_info, tcb_info_signature: TDX.collateral.tcb_info_signature } }), /the TCB info is for TDX, the quote is SGX/);
    assertRefused(judge(TDX, { collateral: { tcb_info: SGX.collateral.tcb_info, tcb_info_signature: SGX.collateral.tcb_info_signature } }), /the TCB info is for SGX, the quote is TDX/);
    assertRefused(judge(SGX, { collateral: { qe_identity: TDX.collateral.qe_identity, qe_identity_signature: TDX.collateral.qe_identity_signature } }), /QE identity id "TD_QE" is not QE/);
    assertRefused(judge(TDX, { collateral: { qe_identity: SGX.collateral.qe_identity, qe_identity_signature: SGX.collateral.qe_identity_signature } }), /QE identity id "QE" is not TD_QE/);
  });

  it("refuses another platform's TCB info, signed and current", () => {
    const otherTdx = { tcb_info: TDX_V5.collateral.tcb_info, tcb_info_signature: TDX_V5.collateral.tcb_info_signature };
    assertRefused(judge(TDX_V5, { collateral: { tcb_info: TDX.collateral.tcb_info, tcb_info_signature: TDX.collateral.tcb_info_signature } }), /TCB info expired|FMSPC b0c06f000000, the PCK certificate says 90c06f000000/);
    assertRefused(judge(TDX, { collateral: otherTdx }), /TCB info was issued at 2026-02-18/);
  });

  it('refuses tampered collateral: a byte of the TCB info or QE identity, their signatures, a CRL', () => {
    const position = TDX.collateral.tcb_info.indexOf('"UpToDate"') + 1;
    assertRefused(judge(TDX, { collateral: { tcb_info: changeCharacter(TDX.collateral.tcb_info, position) } }), /^the TCB info signature does not verify$/);
    assertRefused(judge(SGX, { collateral: { tcb_info: TDX.collateral.tcb_info.replace('"pcesvn":11', '"pcesvn":10') } }), /TCB info signature does not verify/);
    assertRefused(judge(SGX, { collateral: { qe_identity: changeCharacter(SGX.collateral.qe_identity, 40) } }), /^the QE identity signature does not verify$/);
    assertRefused(judge(SGX, { collateral: { tcb_info_signature: changeCharacter(SGX.collateral.tcb_info_signature, 5) } }), /TCB info signature does not verify/);
    assertRefused(judge(TDX, { collateral: { qe_identity_signature: '00'.repeat(64) } }), /QE identity signature does not verify/);
    assertRefused(judge(TDX, { collateral: { pck_crl: changeCharacter(TDX.collateral.pck_crl, 600) } }), /PCK CRL/);
    assertRefused(judge(TDX, { collateral: { root_ca_crl: SGX.collateral.pck_crl } }), /Root CA CRL was not issued by "Intel SGX Root CA"/);
    assertRefused(judge(SGX, { collateral: { tcb_info_issuer_chain: SGX.collateral.pck_crl_issuer_chain } }), /TCB info issuer chain starts at "Intel SGX PCK Processor CA", not "Intel SGX TCB Signing"/);
    assertRefused(judge(SGX, { collateral: { qe_identity_issuer_chain: `${SGX.collateral.qe_identity_issuer_chain}\ngarbage` } }), /QE identity issuer chain holds text that is not a certificate/);
  });

  it('checks the collateral shape: exactly Intel nine string fields, hex signatures', () => {
    const raw = JSON.parse(readSample('tdx/tdx_quote_collateral.json').toString()) as Record<string, unknown>;
    assert.deepEqual(parseDcapCollateral(JSON.stringify(raw)), TDX.collateral);
    const { pck_crl: _, ...missing } = raw;
    assert.throws(() => parseDcapCollateral(missing), /pck_crl is missing/);
    assert.throws(() => parseDcapCollateral({ ...raw, pck_certificate_chain: 'x' }), /fields Intel's does not: pck_certificate_chain/);
    assert.throws(() => parseDcapCollateral({ ...raw, tcb_info_signature: 'zz' }), /tcb_info_signature is not a hex P-256 signature/);
    assert.throws(() => parseDcapCollateral({ ...raw, root_ca_crl: [1, 2] }), /root_ca_crl is missing or not a string/);
    assert.throws(() => parseDcapCollateral([]), /not a JSON object/);
    assert.throws(() => parseDcapCollateral('{'), /not JSON/);
    assertRefused(verifyDcapQuote(TDX.quote, { ...TDX.collateral, extra: 1 } as unknown as DcapCollateral, { at: TDX.at }), /fields Intel's does not: extra/);
  });

  it('tells a PCCS client what collateral to fetch', () => {
    assert.deepEqual(dcapCollateralRequest(SGX.quote), { teeType: 'sgx', fmspc: '00a067110000', ca: 'processor' });
    assert.deepEqual(dcapCollateralRequest(TDX.quote), { teeType: 'tdx', fmspc: 'b0c06f000000', ca: 'platform' });
    assert.deepEqual(dcapCollateralRequest(TDX_V5.quote), { teeType: 'tdx', fmspc: '90c06f000000', ca: 'platform' });
    assert.throws(() => dcapCollateralRequest(TDX.quote.subarray(0, 100)), /quote is truncated/);
  });
});

describe("verifyDcapQuote: go-tdx-guest's production TDX quote (Sapphire Rapids E4)", () => {
  it('refuses the quote as published: go-tdx-guest appended 39 bytes that are not zero padding', () => {
    assert.equal(GO_TDX_GUEST_PUBLISHED.subarray(-GO_TDX_GUEST_APPENDED).toString(), '\nextra bytes(only for testing purpose)\n');
    assertRefused(judge(GO_TDX_GUEST, { quote: GO_TDX_GUEST_PUBLISHED }), /^the 39 bytes after the signature data are not zero padding$/);
  });

  it('verifies chain, CRLs, collateral and every signature at 2023-07-01, then refuses at TCB matching: the platform is below every TCB level', () => {
    const verdict = judge(GO_TDX_GUEST);
    assert.equal(verdict.verified, false);
    assert.equal(
      verdict.reason,
      'no TCB level of the TCB info matches this platform (TCB not supported): ' +
        'level 1 (2023-02-15, UpToDate) needs SGX TCB component 1 ≥ 5 (the PCK certificate has 3), SGX TCB component 2 ≥ 5 (the PCK certificate has 3), ' +
        'SGX TCB component 5 ≥ 3 (the PCK certificate has 2), SGX TCB component 8 ≥ 3 (the PCK certificate has 2), TEE TCB SVN[2] ≥ 5 (the TD report has 4); ' +
        'level 2 (2018-01-04, OutOfDate) needs SGX TCB component 1 ≥ 5 (the PCK certificate has 3), SGX TCB component 2 ≥ 5 (the PCK certificate has 3), ' +
        'SGX TCB component 5 ≥ 3 (the PCK certificate has 2), SGX TCB component 8 ≥ 3 (the PCK certificate has 2), TEE TCB SVN[2] ≥ 5 (the TD report has 4)',
    );
    assert.equal(verdict.details.qeTcbStatus, 'UpToDate', 'the QE report was signed by the PCK key and matched the QE identity');
    assert.equal(verdict.details.fmspc, '50806f000000');
    assert.equal(verdict.details.teeTcbSvn, '03000400000000000000000000000000', 'TDX module version 0: no module identity needed');
    assert.equal(verdict.tcbStatus, 'NotApplicable');
    const signatureAt = parseDcapQuote(GO_TDX_GUEST.quote).signedBytes.length + 4;
    assertRefused(judge(GO_TDX_GUEST, { quote: flipByte(GO_TDX_GUEST.quote, signatureAt) }), /^the quote signature \(by the attestation key\) does not verify$/);
  });
});

/** A v5 quote from a v4 TDX quote: version 5, then a body descriptor before the body; TD 1.5 appends TEE_TCB_SVN_2 and MRSERVICETD. */
function asVersion5(v4: Buffer, bodyType: 2 | 3, tdx15Fields = Buffer.alloc(0)): Buffer {
  const header = Buffer.from(v4.subarray(0, 48));
  header.writeUInt16LE(5, 0);
  const body = Buffer.concat([v4.subarray(48, 48 + 584), tdx15Fields]);
  const descriptor = Buffer.alloc(6);
  descriptor.writeUInt16LE(bodyType, 0);
  descriptor.writeUInt32LE(body.length, 2);
  return Buffer.concat([header, descriptor, body, v4.subarray(48 + 584)]);
}

describe('TDX quote v5', () => {
  it('reads a real v5 TD 1.5 quote; every signature verifies; refused at TCB matching (SEAMLDR ACM SVN 3 below 5)', () => {
    const quote = parseDcapQuote(TDX_V5.quote);
    assert.equal(quote.header.version, 5);
    assert.equal(quote.bodyType, 3);
    assert.equal(quote.signedBytes.length, 48 + 6 + 648);
    assert.equal(quote.body.tee, 'tdx');
    assert.equal(quote.body.tee === 'tdx' && quote.body.report.tdx15?.teeTcbSvn2.toString('hex'), '0d010300000000000000000000000000');
    const verdict = judge(TDX_V5);
    assert.match(verdict.reason, TCB_NOT_SUPPORTED);
    assert.match(verdict.reason, /level 1 \(2024-11-13, UpToDate\) needs SGX TCB component 8 ≥ 5 \(the PCK certificate has 3\);/);
    assert.equal(verdict.details.bodyType, 3);
    assert.equal(verdict.details.qeTcbStatus, 'UpToDate');
    assert.equal(verdict.measurements.mrServiceTd, '00'.repeat(48));
    assert.equal(verdict.details.teeTcbSvn2, '0d010300000000000000000000000000');
    assertRefused(judge(TDX_V5, { quote: flipByte(TDX_V5.quote, 60) }), /^the quote signature \(by the attestation key\) does not verify$/);
  });

  it('reads a v5 quote (body type 2, TD 1.0) built from the v4 sample field for field; the quote signature refuses it', () => {
    const v5 = asVersion5(TDX.quote, 2);
    const [fromV4, fromV5] = [parseDcapQuote(TDX.quote), parseDcapQuote(v5)];
    assert.equal(fromV5.header.version, 5);
    assert.equal(fromV5.bodyType, 2);
    assert.deepEqual(fromV5.body, fromV4.body);
    assert.deepEqual(fromV5.qeReport, fromV4.qeReport);
    assert.ok(fromV5.signature.equals(fromV4.signature) && fromV5.attestationKey.equals(fromV4.attestationKey));
    assert.equal(fromV5.signedBytes.length, 48 + 6 + 584);
    const verdict = judge(TDX, { quote: v5 });
    assertRefused(verdict, /^the quote signature \(by the attestation key\) does not verify$/);
    assert.equal(verdict.details.qeTcbStatus, 'UpToDate', 'everything before the quote signature verifies');
    assert.equal(verdict.measurement, judge(TDX).measurement);
  });

  it('reads TEE_TCB_SVN_2 and MRSERVICETD of a built TD 1.5 body (type 3); the quote signature refuses it', () => {
    const svn2 = Buffer.from('07010300000000000000000000000000', 'hex');
    const serviceTd = Buffer.alloc(48, 0xab);
    const v5 = parseDcapQuote(asVersion5(TDX.quote, 3, Buffer.concat([svn2, serviceTd])));
    assert.equal(v5.body.tee === 'tdx' && v5.body.report.tdx15?.teeTcbSvn2.equals(svn2), true);
    assert.equal(v5.body.tee === 'tdx' && v5.body.report.tdx15?.mrServiceTd.equals(serviceTd), true);
    const verdict = judge(TDX, { quote: asVersion5(TDX.quote, 3, Buffer.concat([svn2, serviceTd])) });
    assertRefused(verdict, /quote signature .* does not verify/);
    assert.equal(verdict.measurements.mrServiceTd, 'ab'.repeat(48));
  });

  it('refuses body descriptors that do not fit: an SGX body in a TDX quote, a wrong size, an unknown type', () => {
    const v5 = asVersion5(TDX.quote, 2);
    const withDescriptor = (type: number, size: number) => {
      const copy = Buffer.from(v5);
      copy.writeUInt16LE(type, 48);
      copy.writeUInt32LE(size, 50);
      return copy;
    };
    assertRefused(judge(TDX, { quote: withDescriptor(1, 384) }), /^body type 1 does not belong in a TDX quote$/);
    assertRefused(judge(TDX, { quote: withDescriptor(2, 648) }), /^body type 2 is 584 bytes, the quote says 648$/);
    assertRefused(judge(TDX, { quote: withDescriptor(4, 584) }), /^body type 4 does not belong in a TDX quote$/);
  });
});

/** Edits of the TDX sample, each with the refusal it must earn. */
describe('strict parsing: a quote is exactly what Intel lays out', () => {
  const quote = TDX.quote;
  const parsed = parseDcapQuote(quote);
  const signatureDataAt = parsed.signedBytes.length;
  const edit = (write: (copy: Buffer) => void) => {
    const copy = Buffer.from(quote);
    write(copy);
    return copy;
  };
  const cases: [string, Buffer, RegExp][] = [
    ['version 6', edit((copy) => copy.writeUInt16LE(6, 0)), /^quote version 6 is not supported/],
    ['attestation key type 3 (P-384)', edit((copy) => copy.writeUInt16LE(3, 2)), /^attestation key type 3 is not supported/],
    ['TEE type 0x82', edit((copy) => copy.writeUInt32LE(0x82, 4)), /^TEE type 0x82 is neither SGX/],
    ['another QE vendor', edit((copy) => (copy[12] = 0)), /QE vendor ID .* is not Intel's/],
    ['signature data one byte longer', edit((copy) => copy.writeUInt32LE(copy.readUInt32LE(signatureDataAt) + 1, signatureDataAt)), /QE report certification data|signature data has 1 bytes beyond/],
    ['signature data past the end', edit((copy) => copy.writeUInt32LE(100000, signatureDataAt)), /^quote is truncated: signature data/],
    ['certification data type 5 where 6 belongs', edit((copy) => copy.writeUInt16LE(5, signatureDataAt + 132)), /^certification data type 5 is not supported \(6/],
    ['a zero padding byte set', edit((copy) => (copy[copy.length - 1] = 1)), /^the 70 bytes after the signature data are not zero padding$/],
    ['the closing NUL of the PEM chain changed', edit((copy) => (copy[copy.length - 71] = 0x0a)), /PCK certificate chain is not exactly its certificates in canonical PEM/],
    ['a PEM newline made a carriage return', edit((copy) => (copy[quote.indexOf('-----BEGIN') + 27] = 0x0d)), /PCK certificate chain/],
  ];
  for (const [name, changed, reason] of cases) {
    it(`refuses ${name}`, () => assertRefused(judge(TDX, { quote: changed }), reason));
  }
  it('refuses a truncated quote at each of its parts', () => {
    for (const length of [0, 7, 47, 200, signatureDataAt + 3, signatureDataAt + 100, quote.length - 71 - 10]) {
      assertRefused(judge(TDX, { quote: quote.subarray(0, length) }), /quote is truncated|PCK certificate chain|signature data/);
    }
  });
});

/**
 * Positions of a quote that no signature or hash covers: lengths, types, the PEM chain's framing (not the
 * certificates' base64, which their signatures cover), the NUL and the padding. Strict parsing alone
 * must hold these.
 */
function structuralPositions(quote: Buffer): number[] {
  const parsed = parseDcapQuote(quote);
  const signedLength = parsed.signedBytes.length;
  const bound = [parsed.signature, parsed.attestationKey, parsed.qeReport.raw, parsed.qeReportSignature, parsed.qeAuthData].map((part) => {
    const from = quote.indexOf(part, signedLength);
    return [from, from + part.length] as const;
  });
  const pemStart = quote.indexOf('-----BEGIN CERTIFICATE-----');
  const inBase64 = (position: number) => {
    const lineStart = quote.lastIndexOf(0x0a, position - 1) + 1;
    return position >= pemStart && quote[lineStart] !== 0x2d && quote[position] !== 0x0a && quote[position] !== 0;
  };
  const positions: number[] = [];
  for (let position = signedLength; position < quote.length; position += 1) {
    if (!bound.some(([from, to]) => position >= from && position < to) && !inBase64(position)) positions.push(position);
  }
  return positions;
}

describe('every byte of a quote matters', () => {
  const genuine = [SGX, TDX];
  /** Refused at the last step (TCB matching): a changed byte must be caught by an earlier check. */
  const refusedLast = [GO_TDX_GUEST, TDX_V5];

  it('refuses a change of any byte that no signature or hash covers (every position, low, high and all bits)', () => {
    for (const sample of genuine) {
      for (const position of structuralPositions(sample.quote)) {
        for (const xor of [0x01, 0x80, 0xff]) {
          const verdict = judge(sample, { quote: flipByte(sample.quote, position, xor) });
          assert.equal(verdict.verified, false, `${sample.name}: byte ${position} ^ ${xor} still verified`);
        }
      }
    }
  });

  for (const sample of [...genuine, ...refusedLast]) {
    it(`refuses ${sample.name} after a change of a random byte`, () => {
      const original = judge(sample).reason;
      fc.assert(
        fc.property(fc.nat({ max: sample.quote.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, xor) => {
          const verdict = judge(sample, { quote: flipByte(sample.quote, position, xor) });
          return !verdict.verified && verdict.reason !== original;
        }),
        { numRuns: 150 },
      );
    });
  }
});

/** Where a changed byte sat, to name why the two verifiers may disagree. */
type Place = 'quote PEM chain' | 'quote padding' | 'quote certification data framing' | 'quote (signed or cryptographically bound)' | keyof DcapCollateral;

function placeInQuote(quote: Buffer, position: number): Place {
  const parsed = parseDcapQuote(quote);
  const pemStart = quote.indexOf('-----BEGIN CERTIFICATE-----');
  const end = quote.length - parsed.paddingLength;
  if (position >= end) return 'quote padding';
  if (position >= pemStart) return 'quote PEM chain';
  const signatureData = parsed.signedBytes.length;
  const framing = [[signatureData, signatureData + 4], [signatureData + 132, signatureData + 138], [pemStart - 6, pemStart]];
  return framing.some(([from, to]) => position >= (from as number) && position < (to as number)) ? 'quote certification data framing' : 'quote (signed or cryptographically bound)';
}

/**
 * Checks the verifier makes and dcap-qvl 0.3.9 does not: the only places where the two may disagree,
 * and only one way (dcap-qvl accepts, this verifier refuses, for the reason given).
 */
const STRICTER_THAN_DCAP_QVL: { place: Place; reason: RegExp; why: string }[] = [
  {
    place: 'quote PEM chain',
    reason: /PCK certificate chain( is not exactly| holds text|: certificate \d is not canonical)|"Intel SGX Root CA"/,
    why: "dcap-qvl picks PEM blocks out by regex (a block it cannot match is skipped) and never reads the quote's copy of the root",
  },
  { place: 'quote padding', reason: /not zero padding/, why: 'dcap-qvl ignores whatever follows the signature data' },
  { place: 'quote certification data framing', reason: /certification data type|beyond its content|truncated/, why: 'dcap-qvl reads neither the outer certification data type nor its exact size' },
  { place: 'root_ca_crl', reason: /Root CA CRL/, why: 'dcap-qvl checks no CRL signature or date, and skips a CRL it cannot parse' },
  { place: 'pck_crl', reason: /PCK CRL/, why: 'dcap-qvl checks no CRL signature or date, and skips a CRL it cannot parse' },
  { place: 'pck_crl_issuer_chain', reason: /pck_crl_issuer_chain|"Intel SGX Root CA"/, why: 'dcap-qvl does not read pck_crl_issuer_chain' },
  ...(['tcb_info_issuer_chain', 'qe_identity_issuer_chain'] as const).map((place) => ({
    place,
    reason: /issuer chain (holds text that is not a certificate|: certificate \d is not canonical base64)/,
    why: "dcap-qvl picks the issuer chains' PEM blocks out by regex and ignores any text around them",
  })),
];

interface Outcome {
  accepted: boolean;
  status: string;
  advisoryIds: string[];
  reason: string;
}

function dcapQvl(quote: Buffer, collateral: DcapCollateral, at: Date): Outcome {
  try {
    const report = dcapQvlVerify(quote, collateral, Math.floor(at.getTime() / 1000));
    return { accepted: true, status: report.status, advisoryIds: [...report.advisory_ids].sort(), reason: '' };
  } catch (error) {
    return { accepted: false, status: '', advisoryIds: [], reason: (error as Error).message };
  }
}

describe('differential: this verifier against @phala/dcap-qvl 0.3.9', () => {
  it('agrees on accept/refuse and TCB status, except where it is stricter for a named reason', (t) => {
    const cases: { name: string; place: Place | 'unchanged'; quote: Buffer; collateral: DcapCollateral; at: Date }[] = [];
    for (const sample of [SGX, TDX, GO_TDX_GUEST, TDX_V5]) {
      cases.push({ name: `${sample.name} at its time`, place: 'unchanged', quote: sample.quote, collateral: sample.collateral, at: sample.at });
      cases.push({ name: `${sample.name} today`, place: 'unchanged', quote: sample.quote, collateral: sample.collateral, at: TODAY });
    }
    cases.push({ name: 'go-tdx-guest as published', place: 'unchanged', quote: GO_TDX_GUEST_PUBLISHED, collateral: GO_TDX_GUEST.collateral, at: GO_TDX_GUEST.at });
    const fields = Object.keys(SGX.collateral) as (keyof DcapCollateral)[];
    for (const sample of [SGX, TDX]) {
      const quoteEdits = fc.sample(fc.tuple(fc.nat({ max: sample.quote.length - 1 }), fc.integer({ min: 1, max: 255 })), { numRuns: 120, seed: 20250620 });
      for (const [position, xor] of quoteEdits) {
        cases.push({ name: `${sample.name} byte ${position}`, place: placeInQuote(sample.quote, position), quote: flipByte(sample.quote, position, xor), collateral: sample.collateral, at: sample.at });
      }
      const collateralEdits = fc.sample(fc.tuple(fc.constantFrom(...fields), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 1, max: 31 })), { numRuns: 60, seed: 20250621 });
      for (const [field, where, xor] of collateralEdits) {
        const text = sample.collateral[field];
        const position = Math.floor(where * text.length);
        cases.push({ name: `${sample.name} ${field}[${position}]`, place: field, quote: sample.quote, collateral: { ...sample.collateral, [field]: changeCharacter(text, position, xor) }, at: sample.at });
      }
    }

    const stricter = new Map<string, number>();
    let agreed = 0;
    for (const testCase of cases) {
      const mine = verifyDcapQuote(testCase.quote, testCase.collateral, { at: testCase.at });
      const theirs = dcapQvl(testCase.quote, testCase.collateral, testCase.at);
      if (mine.verified === theirs.accepted) {
        agreed += 1;
        if (mine.verified) {
          assert.equal(mine.tcbStatus, theirs.status, `${testCase.name}: TCB status`);
          assert.deepEqual([...mine.advisoryIds].sort(), theirs.advisoryIds, `${testCase.name}: advisories`);
        }
        continue;
      }
      assert.equal(mine.verified, false, `${testCase.name}: accepted here, refused by dcap-qvl (${theirs.reason})`);
      const known = STRICTER_THAN_DCAP_QVL.find((rule) => rule.place === testCase.place && rule.reason.test(mine.reason));
      assert.ok(known, `${testCase.name} (${testCase.place}): refused here (${mine.reason}), accepted by dcap-qvl, for no known reason`);
      stricter.set(known.why, (stricter.get(known.why) ?? 0) + 1);
    }
    assert.ok(agreed > cases.length / 2, `${agreed} of ${cases.length} agree`);
    t.diagnostic(`${cases.length} cases: ${agreed} agree; refused here and accepted by dcap-qvl: ${[...stricter].map(([why, count]) => `${count} × ${why}`).join('; ')}`);
  });
});
