/**
 * The IAS (EPID) verifier on a real report Intel signed in 2018 (Avalon's test data, in
 * test/fixtures/attestation/ias-avalon-report.json), judged at its time, today, before its own date and
 * against the wrong root, and changed one byte at a time. The quote statuses and the report rules are
 * exercised on reports signed here with a throwaway PKI (ias-test-*.pem, made by ias-test-pki.sh), since
 * Intel no longer signs any.
 */
import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { IAS_END_OF_LIFE_NOTE, IAS_QUOTE_STATUSES, parseIasEvidence, verifyIasReport, type IasEvidence, type IasQuoteStatus } from '../../src/attestation/ias.ts';
import { INTEL_IAS_ROOT, INTEL_SGX_ROOT_CA } from '../../src/attestation/roots.ts';
import type { TcbStatus, Verdict } from '../../src/attestation/verdict.ts';
import { flipByte, TODAY } from '../helpers/attestation-samples.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/attestation');
const readFixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

/** Offsets in the 432-byte quote body IAS returns: sgx_quote_t's 48-byte header, then sgx_report_body_t. */
const QUOTE = {
  version: 0,
  signType: 2,
  epidGroupId: 4,
  reportBody: 48,
  attributes: 96,
  mrEnclave: 112,
  mrSigner: 176,
  isvProdId: 304,
  isvSvn: 306,
  reportData: 368,
  length: 432,
} as const;

function assertRefused(verdict: Verdict, reason: RegExp): void {
  assert.equal(verdict.verified, false, 'the evidence must be refused');
  assert.match(verdict.reason, reason);
}

// ---------------------------------------------------------------------------------------------------
// The real report: Avalon common/cpp/tests/verifytest.cpp, signed by IAS on 2018-07-11.

const AVALON_PROOF_DATA = readFixture('ias-avalon-report.json');
/** The report's own timestamp is 2018-07-11T19:30:35.556996 (UTC); half an hour later it was fresh. */
const AVALON_AT = new Date('2018-07-11T20:00:00Z');

function avalonEvidence(): IasEvidence {
  return parseIasEvidence(AVALON_PROOF_DATA);
}

/** The report's fields and quote body as read here with JSON.parse and the spec's offsets, not by the verifier. */
function readAvalonReport(): { fields: Record<string, unknown>; body: Buffer } {
  const fields = JSON.parse(JSON.parse(AVALON_PROOF_DATA).verification_report) as Record<string, unknown>;
  return { fields, body: Buffer.from(fields.isvEnclaveQuoteBody as string, 'base64') };
}

describe('verifyIasReport: the real IAS report from Avalon', () => {
  it('carries the pinned Intel SGX Attestation Report Signing CA after its signing certificate', () => {
    const { signingChain } = avalonEvidence();
    assert.equal(signingChain.length, 2);
    assert.ok(signingChain[1]?.raw.equals(INTEL_IAS_ROOT.raw));
    assert.match(signingChain[0]?.subject ?? '', /CN=Intel SGX Attestation Report Signing$/m);
  });

  it('verifies at 2018-07-11, saying what the quote body says at the SGX quote offsets', () => {
    const verdict = verifyIasReport(avalonEvidence(), { at: AVALON_AT });
    assert.equal(verdict.verified, true, verdict.reason);
    const { fields, body } = readAvalonReport();
    assert.equal(body.length, QUOTE.length);
    const mrEnclave = body.subarray(QUOTE.mrEnclave, QUOTE.mrEnclave + 32).toString('hex');
    const mrSigner = body.subarray(QUOTE.mrSigner, QUOTE.mrSigner + 32).toString('hex');
    assert.equal(verdict.type, 'ias');
    assert.equal(verdict.measurement, mrEnclave);
    assert.deepEqual(verdict.measurements, {
      mrEnclave,
      mrSigner,
      isvProdId: String(body.readUInt16LE(QUOTE.isvProdId)),
      isvSvn: String(body.readUInt16LE(QUOTE.isvSvn)),
    });
    assert.equal(verdict.signer, mrSigner);
    assert.equal(verdict.reportData, body.subarray(QUOTE.reportData, QUOTE.reportData + 64).toString('hex'));
    assert.equal(verdict.debug, ((body[QUOTE.attributes] as number) & 0x02) !== 0);
    assert.equal(fields.isvEnclaveQuoteStatus, 'GROUP_OUT_OF_DATE');
    assert.equal(verdict.details.quoteStatus, fields.isvEnclaveQuoteStatus);
    assert.equal(verdict.tcbStatus, 'OutOfDate');
    assert.deepEqual(verdict.advisoryIds, []);
    assert.equal(verdict.producedAt, '2018-07-11T19:30:35.556Z');
    assert.equal(verdict.details.reportTimestamp, fields.timestamp);
    assert.equal(verdict.details.reportId, fields.id);
    assert.equal(verdict.details.nonce, fields.nonce);
    assert.equal(verdict.details.epidPseudonym, fields.epidPseudonym);
    assert.equal(verdict.details.platformInfoBlob, fields.platformInfoBlob);
    assert.equal(verdict.details.epidGroupId, body.readUInt32LE(QUOTE.epidGroupId).toString(16).padStart(8, '0'));
    assert.equal(verdict.details.quoteVersion, body.readUInt16LE(QUOTE.version));
    assert.equal(verdict.details.signatureType, body.readUInt16LE(QUOTE.signType) === 1 ? 'linkable' : 'unlinkable');
    assert.equal(verdict.details.endOfLife, true);
    assert.equal(verdict.details.endOfLifeNote, IAS_END_OF_LIFE_NOTE);
    assert.equal('reportVersion' in verdict.details, false, 'an API v2 report carries no version');
  });

  it('platform info blob names the same EPID group as the quote', () => {
    const { fields, body } = readAvalonReport();
    const groupInBlob = (fields.platformInfoBlob as string).toLowerCase();
    assert.ok(groupInBlob.includes(body.readUInt32LE(QUOTE.epidGroupId).toString(16).padStart(8, '0')));
  });

  it('verifies with the signing certificate alone, as Avalon stored it in verifytest.cpp', () => {
    const evidence = avalonEvidence();
    const verdict = verifyIasReport({ ...evidence, signingChain: evidence.signingChain.slice(0, 1) }, { at: AVALON_AT });
    assert.equal(verdict.verified, true, verdict.reason);
  });

  it('is refused today: the report signing certificate expired on 2026-11-20', () => {
    assertRefused(verifyIasReport(avalonEvidence(), { at: TODAY }), /"Intel SGX Attestation Report Signing" expired at 2026-11-20/);
  });

  it('is refused before its own timestamp, to the microsecond', () => {
    assertRefused(verifyIasReport(avalonEvidence(), { at: new Date('2018-07-11T19:30:00Z') }), /dated 2018-07-11T19:30:35\.556996, after the verification time/);
    assertRefused(verifyIasReport(avalonEvidence(), { at: new Date('2018-07-11T19:30:35.556Z') }), /after the verification time/);
    assert.equal(verifyIasReport(avalonEvidence(), { at: new Date('2018-07-11T19:30:35.557Z') }).verified, true);
  });

  it('is refused against another root (the Intel SGX DCAP root)', () => {
    assertRefused(verifyIasReport(avalonEvidence(), { at: AVALON_AT, roots: [INTEL_SGX_ROOT_CA] }), /not a pinned root nor signed by one/);
  });

  it('is refused after any single-byte change of the report text', () => {
    const evidence = avalonEvidence();
    fc.assert(
      fc.property(fc.nat({ max: evidence.report.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, xor) => {
        const verdict = verifyIasReport({ ...evidence, report: flipByte(evidence.report, position, xor) }, { at: AVALON_AT });
        assertRefused(verdict, /report signature does not verify/);
      }),
      { numRuns: 300 },
    );
  });

  it('is refused after any single-byte change of the signature', () => {
    const evidence = avalonEvidence();
    fc.assert(
      fc.property(fc.nat({ max: evidence.signature.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, xor) => {
        const verdict = verifyIasReport({ ...evidence, signature: flipByte(evidence.signature, position, xor) }, { at: AVALON_AT });
        assertRefused(verdict, /report signature does not verify/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseIasEvidence: Avalon proofData, strictly', () => {
  const fields = JSON.parse(AVALON_PROOF_DATA) as Record<string, string>;
  const withFields = (changed: Record<string, unknown>) => JSON.stringify({ ...fields, ...changed });

  it('reads the report as the exact bytes IAS signed', () => {
    assert.ok(avalonEvidence().report.equals(Buffer.from(fields.verification_report as string, 'utf8')));
  });

  it('refuses an extra field', () => {
    assert.throws(() => parseIasEvidence(withFields({ enclave_persistent_id: 'x' })), /unknown field "enclave_persistent_id"/);
  });

  for (const name of ['verification_report', 'ias_report_signature', 'ias_report_signing_certificate']) {
    it(`refuses proofData without ${name}`, () => {
      const { [name]: _dropped, ...rest } = fields;
      assert.throws(() => parseIasEvidence(JSON.stringify(rest)), new RegExp(`has no ${name}`));
    });
    it(`refuses a ${name} that is not a string`, () => {
      assert.throws(() => parseIasEvidence(withFields({ [name]: 1 })), new RegExp(`${name} is 1, not a string`));
    });
  }

  it('refuses text that is not a JSON object', () => {
    assert.throws(() => parseIasEvidence(''), /not JSON/);
    assert.throws(() => parseIasEvidence('[]'), /not a JSON object/);
  });

  it('refuses an empty report', () => {
    assert.throws(() => parseIasEvidence(withFields({ verification_report: '' })), /verification_report is empty/);
  });

  it('refuses a signature that is not canonical base64', () => {
    const signature = fields.ias_report_signature as string;
    assert.throws(() => parseIasEvidence(withFields({ ias_report_signature: ` ${signature}` })), /not canonical padded base64/);
    assert.throws(() => parseIasEvidence(withFields({ ias_report_signature: signature.replace(/=+$/, '') })), /not canonical padded base64/);
  });

  it('refuses a certificate field holding anything but PEM certificates', () => {
    const certificates = fields.ias_report_signing_certificate as string;
    assert.throws(() => parseIasEvidence(withFields({ ias_report_signing_certificate: `issuer: ${certificates}` })), /holds text that is not a certificate/);
    assert.throws(() => parseIasEvidence(withFields({ ias_report_signing_certificate: '' })), /holds no PEM certificate/);
  });
});

// ---------------------------------------------------------------------------------------------------
// Reports signed by the throwaway test PKI (same shape and dates as Intel's: root to 2049, signer to 2026-11-20).

const TEST_ROOT = new X509Certificate(readFixture('ias-test-root.pem'));
const TEST_SIGNER = new X509Certificate(readFixture('ias-test-signing.pem'));
const TEST_ENCIPHERER = new X509Certificate(readFixture('ias-test-enciphering.pem'));
const TEST_SIGNING_KEY = crypto.createPrivateKey(readFixture('ias-test-signing-key.pem'));
const TEST_AT = new Date('2020-06-01T00:00:00Z');
const TEST_TIMESTAMP = '2020-05-31T12:00:00.123456';

const digest = (label: string) => crypto.createHash('sha256').update(label).digest();
const ENCLAVE = { mrEnclave: digest('enclave'), mrSigner: digest('signer'), reportData: Buffer.concat([digest('key'), digest('nonce')]) };

interface QuoteOptions {
  attributesFlags?: number;
  linkable?: boolean;
  version?: number;
  reservedByte?: boolean;
}

/** A quote body laid out from the offsets above, with the enclave fields every test checks. */
function quoteBody(options: QuoteOptions = {}): Buffer {
  const body = Buffer.alloc(QUOTE.length);
  body.writeUInt16LE(options.version ?? 2, QUOTE.version);
  body.writeUInt16LE(options.linkable ? 1 : 0, QUOTE.signType);
  body.writeUInt32LE(0x0b56, QUOTE.epidGroupId);
  body.writeUInt16LE(13, 8);
  body.writeUInt16LE(13, 10);
  body.writeUInt8(options.attributesFlags ?? 0x05, QUOTE.attributes);
  body.writeUInt8(0x07, QUOTE.attributes + 8);
  ENCLAVE.mrEnclave.copy(body, QUOTE.mrEnclave);
  ENCLAVE.mrSigner.copy(body, QUOTE.mrSigner);
  body.writeUInt16LE(7, QUOTE.isvProdId);
  body.writeUInt16LE(3, QUOTE.isvSvn);
  ENCLAVE.reportData.copy(body, QUOTE.reportData);
  // Report body bytes 20-31 are reserved (quote bytes 68-79).
  if (options.reservedByte) body.writeUInt8(1, QUOTE.reportBody + 20);
  return body;
}

/** A report's fields in the order IAS writes them (API v4). */
function reportFields(status: IasQuoteStatus = 'OK', quote: Buffer = quoteBody()): Record<string, unknown> {
  return {
    id: '142090828149453720542199954221331392599',
    timestamp: TEST_TIMESTAMP,
    version: 4,
    isvEnclaveQuoteStatus: status,
    isvEnclaveQuoteBody: quote.toString('base64'),
  };
}

function signed(report: string | Buffer, signingChain: X509Certificate[] = [TEST_SIGNER, TEST_ROOT]): IasEvidence {
  const bytes = typeof report === 'string' ? Buffer.from(report, 'utf8') : report;
  return { report: bytes, signature: crypto.sign('sha256', bytes, TEST_SIGNING_KEY), signingChain };
}

function judgeReport(report: string | Buffer | Record<string, unknown>, at = TEST_AT): Verdict {
  const text = typeof report === 'string' || Buffer.isBuffer(report) ? report : JSON.stringify(report);
  return verifyIasReport(signed(text), { at, roots: [TEST_ROOT] });
}

describe('verifyIasReport: quote statuses (test PKI)', () => {
  const expected: Record<IasQuoteStatus, { verified: boolean; tcbStatus: TcbStatus; reason?: RegExp }> = {
    OK: { verified: true, tcbStatus: 'UpToDate' },
    SW_HARDENING_NEEDED: { verified: true, tcbStatus: 'SWHardeningNeeded' },
    CONFIGURATION_NEEDED: { verified: true, tcbStatus: 'ConfigurationNeeded' },
    CONFIGURATION_AND_SW_HARDENING_NEEDED: { verified: true, tcbStatus: 'ConfigurationAndSWHardeningNeeded' },
    GROUP_OUT_OF_DATE: { verified: true, tcbStatus: 'OutOfDate' },
    GROUP_REVOKED: { verified: false, tcbStatus: 'Revoked', reason: /EPID group revoked \(GROUP_REVOKED\)/ },
    KEY_REVOKED: { verified: false, tcbStatus: 'Revoked', reason: /EPID private key revoked \(KEY_REVOKED\)/ },
    SIGNATURE_REVOKED: { verified: false, tcbStatus: 'Revoked', reason: /EPID signature revoked \(SIGNATURE_REVOKED\)/ },
    SIGNATURE_INVALID: { verified: false, tcbStatus: 'NotApplicable', reason: /signature invalid \(SIGNATURE_INVALID\): the quote is not genuine/ },
    SIGRL_VERSION_MISMATCH: { verified: false, tcbStatus: 'NotApplicable', reason: /outdated signature revocation list \(SIGRL_VERSION_MISMATCH\)/ },
  };

  it('covers every status IAS defines', () => {
    assert.deepEqual(Object.keys(expected).sort(), [...IAS_QUOTE_STATUSES].sort());
  });

  for (const status of IAS_QUOTE_STATUSES) {
    const want = expected[status];
    it(`${status}: ${want.verified ? 'verified' : 'refused'}, TCB status ${want.tcbStatus}`, () => {
      const verdict = judgeReport(reportFields(status));
      assert.equal(verdict.verified, want.verified, verdict.reason);
      assert.equal(verdict.tcbStatus, want.tcbStatus);
      assert.equal(verdict.details.quoteStatus, status);
      if (want.reason) assert.match(verdict.reason, want.reason);
      assert.equal(verdict.measurement, ENCLAVE.mrEnclave.toString('hex'), 'what the report says stays visible, refused or not');
    });
  }

  it('reads a production enclave and a debug one from the attributes', () => {
    const production = judgeReport(reportFields('OK', quoteBody({ attributesFlags: 0x05 })));
    assert.equal(production.verified, true, production.reason);
    assert.equal(production.debug, false);
    const debug = judgeReport(reportFields('OK', quoteBody({ attributesFlags: 0x07 })));
    assert.equal(debug.verified, true, debug.reason);
    assert.equal(debug.debug, true);
    assert.equal(debug.details.attributes, '07000000000000000700000000000000');
  });

  it('reports the enclave, the advisories and the report version', () => {
    const verdict = judgeReport({
      ...reportFields('SW_HARDENING_NEEDED'),
      advisoryURL: 'https://security-center.intel.com',
      advisoryIDs: ['INTEL-SA-00334', 'INTEL-SA-00615'],
    });
    assert.equal(verdict.verified, true, verdict.reason);
    assert.deepEqual(verdict.advisoryIds, ['INTEL-SA-00334', 'INTEL-SA-00615']);
    assert.equal(verdict.details.advisoryUrl, 'https://security-center.intel.com');
    assert.equal(verdict.details.reportVersion, 4);
    assert.equal(verdict.signer, ENCLAVE.mrSigner.toString('hex'));
    assert.equal(verdict.reportData, ENCLAVE.reportData.toString('hex'));
    assert.deepEqual(verdict.measurements, { mrEnclave: ENCLAVE.mrEnclave.toString('hex'), mrSigner: ENCLAVE.mrSigner.toString('hex'), isvProdId: '7', isvSvn: '3' });
    assert.equal(verdict.details.epidGroupId, '00000b56');
    assert.equal(verdict.producedAt, '2020-05-31T12:00:00.123Z');
  });

  it('accepts API v3 reports and v2 reports without a version', () => {
    assert.equal(judgeReport({ ...reportFields(), version: 3 }).verified, true);
    const { version: _version, ...v2 } = reportFields();
    assert.equal(judgeReport(v2).verified, true);
  });

  it('accepts a linkable quote with its EPID pseudonym', () => {
    const verdict = judgeReport({ ...reportFields('OK', quoteBody({ linkable: true })), epidPseudonym: Buffer.alloc(128, 7).toString('base64') });
    assert.equal(verdict.verified, true, verdict.reason);
    assert.equal(verdict.details.signatureType, 'linkable');
  });

  it('reads a revocation reason for a revoked group', () => {
    const verdict = judgeReport({ ...reportFields('GROUP_REVOKED'), revocationReason: 1 });
    assertRefused(verdict, /GROUP_REVOKED/);
    assert.equal(verdict.details.revocationReason, 1);
  });
});

describe('verifyIasReport: report rules (test PKI)', () => {
  const cases: { name: string; report: string | Buffer | Record<string, unknown>; reason: RegExp }[] = [
    { name: 'an unknown field', report: { ...reportFields(), isvEnclaveQuoteSignature: 'x' }, reason: /unknown field "isvEnclaveQuoteSignature"/ },
    { name: 'a duplicate field', report: JSON.stringify(reportFields()).replace('"version":4,', '"version":4,"isvEnclaveQuoteStatus":"GROUP_REVOKED",'), reason: /not compact JSON with each field once/ },
    { name: 'whitespace', report: JSON.stringify(reportFields(), null, 1), reason: /not compact JSON/ },
    { name: 'a needless escape', report: JSON.stringify(reportFields()).replace('"id"', '"\\u0069d"'), reason: /not compact JSON/ },
    { name: 'text that is not JSON', report: 'id=1', reason: /the report is not JSON/ },
    { name: 'bytes that are not UTF-8', report: Buffer.concat([Buffer.from(JSON.stringify(reportFields()).slice(0, -1)), Buffer.from([0xff, 0x7d])]), reason: /not UTF-8/ },
    { name: 'an unknown version', report: { ...reportFields(), version: 5 }, reason: /version 5 is not an IAS report version \(3 or 4\)/ },
    { name: 'a version as text', report: { ...reportFields(), version: '4' }, reason: /version "4" is not an IAS report version/ },
    { name: 'an unknown status', report: { ...reportFields(), isvEnclaveQuoteStatus: 'UpToDate' }, reason: /isvEnclaveQuoteStatus "UpToDate" is not a status IAS defines/ },
    { name: 'a timestamp with a zone', report: { ...reportFields(), timestamp: `${TEST_TIMESTAMP}Z` }, reason: /not IAS's UTC form/ },
    { name: 'a timestamp that is no date', report: { ...reportFields(), timestamp: '2020-02-30T12:00:00.000000' }, reason: /not a real date and time/ },
    { name: 'an id that is not decimal', report: { ...reportFields(), id: 'abc' }, reason: /not IAS's decimal report id/ },
    { name: 'a short quote body', report: { ...reportFields(), isvEnclaveQuoteBody: quoteBody().subarray(0, 431).toString('base64') }, reason: /431 bytes, not 432/ },
    { name: 'a quote body that is not canonical base64', report: { ...reportFields(), isvEnclaveQuoteBody: `${quoteBody().toString('base64')}\n` }, reason: /isvEnclaveQuoteBody is not canonical/ },
    { name: 'a DCAP quote version', report: reportFields('OK', quoteBody({ version: 3 })), reason: /quote version 3 is not an EPID quote/ },
    { name: 'a non-zero reserved byte in the enclave report', report: reportFields('OK', quoteBody({ reservedByte: true })), reason: /reserved and must be zero/ },
    { name: 'a pseudonym for an unlinkable quote', report: { ...reportFields(), epidPseudonym: Buffer.alloc(128, 1).toString('base64') }, reason: /epidPseudonym is given for an unlinkable quote/ },
    { name: 'a pseudonym of the wrong length', report: { ...reportFields('OK', quoteBody({ linkable: true })), epidPseudonym: Buffer.alloc(64, 1).toString('base64') }, reason: /epidPseudonym has 64 bytes/ },
    { name: 'an advisory id of another form', report: { ...reportFields(), advisoryIDs: ['SA-00334'] }, reason: /advisoryIDs\[0\] is "SA-00334"/ },
    { name: 'advisory ids that are not a list', report: { ...reportFields(), advisoryIDs: 'INTEL-SA-00334' }, reason: /advisoryIDs is "INTEL-SA-00334", not an array/ },
    { name: 'an advisory URL that is not https', report: { ...reportFields(), advisoryURL: 'http://security-center.intel.com' }, reason: /advisoryURL is not an https URL/ },
    { name: 'a revocation reason without a revoked group', report: { ...reportFields('OK'), revocationReason: 1 }, reason: /revocationReason is given with status OK/ },
    { name: 'a revocation reason RFC 5280 does not define', report: { ...reportFields('GROUP_REVOKED'), revocationReason: 7 }, reason: /not an RFC 5280 CRL reason/ },
    { name: 'a platform info blob that is not its TLV', report: { ...reportFields(), platformInfoBlob: '1502006404' }, reason: /platformInfoBlob is not a platform info TLV/ },
    { name: 'a platform info blob that is not hex', report: { ...reportFields(), platformInfoBlob: '15020065zz' }, reason: /platformInfoBlob is not hex/ },
    { name: 'a nonce longer than IAS echoes', report: { ...reportFields(), nonce: 'n'.repeat(33) }, reason: /nonce has 33 characters/ },
    { name: 'an unknown PSE manifest status', report: { ...reportFields(), pseManifestStatus: 'FINE' }, reason: /pseManifestStatus "FINE"/ },
    { name: 'a PSE manifest hash that is not SHA-256 hex', report: { ...reportFields(), pseManifestHash: 'abcd' }, reason: /pseManifestHash is not a SHA-256/ },
    { name: 'a missing quote body', report: (({ isvEnclaveQuoteBody: _body, ...rest }) => rest)(reportFields()), reason: /the report has no isvEnclaveQuoteBody/ },
    { name: 'a missing timestamp', report: (({ timestamp: _timestamp, ...rest }) => rest)(reportFields()), reason: /the report has no timestamp/ },
  ];

  it('verifies the report every case starts from', () => {
    assert.equal(judgeReport(reportFields()).verified, true);
  });

  for (const { name, report, reason } of cases) {
    it(`refuses ${name}`, () => assertRefused(judgeReport(report), reason));
  }

  it('accepts the optional fields in their documented forms', () => {
    const verdict = judgeReport({
      ...reportFields('GROUP_OUT_OF_DATE'),
      nonce: 'n'.repeat(32),
      pseManifestStatus: 'OUT_OF_DATE',
      pseManifestHash: 'AB'.repeat(32),
      platformInfoBlob: `150200650400070000080801010101${'00'.repeat(101 - 11)}`,
    });
    assert.equal(verdict.verified, true, verdict.reason);
    assert.equal(verdict.details.pseManifestStatus, 'OUT_OF_DATE');
  });

  it('refuses a report dated before its signing certificate was valid', () => {
    assertRefused(judgeReport({ ...reportFields(), timestamp: '2016-01-01T00:00:00.000000' }), /before its signing certificate was valid/);
  });

  it('reads a timestamp without fractional seconds', () => {
    const verdict = judgeReport({ ...reportFields(), timestamp: '2020-05-31T12:00:00' });
    assert.equal(verdict.producedAt, '2020-05-31T12:00:00.000Z');
  });
});

describe('verifyIasReport: signing certificate and signature (test PKI)', () => {
  const report = JSON.stringify(reportFields());

  it('refuses test-signed evidence against the pinned Intel root', () => {
    assertRefused(verifyIasReport(signed(report), { at: TEST_AT }), /not a pinned root nor signed by one/);
  });

  it('refuses a certificate that may not sign', () => {
    assertRefused(verifyIasReport(signed(report, [TEST_ENCIPHERER, TEST_ROOT]), { at: TEST_AT, roots: [TEST_ROOT] }), /not allowed digital signatures/);
  });

  it('refuses the root itself as the signer', () => {
    assertRefused(verifyIasReport(signed(report, [TEST_ROOT]), { at: TEST_AT, roots: [TEST_ROOT] }), /is a CA, not an end entity/);
  });

  it('refuses certificates after the pinned root', () => {
    assertRefused(verifyIasReport(signed(report, [TEST_SIGNER, TEST_ROOT, INTEL_IAS_ROOT]), { at: TEST_AT, roots: [TEST_ROOT] }), /1 certificate\(s\) after the pinned root/);
  });

  it('refuses a signature by another key', () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const evidence = { ...signed(report), signature: crypto.sign('sha256', Buffer.from(report), privateKey) };
    assertRefused(verifyIasReport(evidence, { at: TEST_AT, roots: [TEST_ROOT] }), /report signature does not verify/);
  });

  it('refuses a signature of the wrong length', () => {
    const evidence = signed(report);
    assertRefused(verifyIasReport({ ...evidence, signature: evidence.signature.subarray(1) }, { at: TEST_AT, roots: [TEST_ROOT] }), /255 bytes, the signing key's modulus 256/);
  });

  it('reads the test evidence through Avalon proofData like the real one', () => {
    const evidence = signed(report);
    const proofData = JSON.stringify({
      verification_report: report,
      ias_report_signature: evidence.signature.toString('base64'),
      ias_report_signing_certificate: `${TEST_SIGNER.toString()}${TEST_ROOT.toString()}`,
    });
    const verdict = verifyIasReport(parseIasEvidence(proofData), { at: TEST_AT, roots: [TEST_ROOT] });
    assert.equal(verdict.verified, true, verdict.reason);
  });
});
