/**
 * The Nitro verifier on real AWS Nitro Enclaves documents (shared/attestation-samples/nitro), each judged
 * at its own timestamp, at today's date and against the wrong root, and changed one byte at a time. The
 * payload rules are exercised on documents signed here with a throwaway PKI
 * (test/fixtures/attestation/nitro-test-*.pem, made by nitro-test-pki.sh), since AWS's cannot be re-signed.
 */
import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decode, encode, Tagged } from 'cborg';
import fc from 'fast-check';
import { verifyNitroDocument } from '../../src/attestation/nitro.ts';
import { AWS_NITRO_ROOT } from '../../src/attestation/roots.ts';
import type { Verdict } from '../../src/attestation/verdict.ts';
import { parseCertificates } from '../../src/attestation/x509.ts';
import { flipByte, readSample, TODAY } from '../helpers/attestation-samples.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/attestation');

function readDocument(name: string): Buffer {
  const text = readSample(`nitro/${name}`).toString('latin1').trim();
  const bytes = Buffer.from(text, 'base64');
  assert.equal(bytes.toString('base64'), text, `${name} is plain base64`);
  return bytes;
}

function assertRefused(verdict: Verdict, reason: RegExp): void {
  assert.equal(verdict.verified, false, 'the document must be refused');
  assert.match(verdict.reason, reason);
}

const ZERO_PCR = '00'.repeat(48);

const PRODUCTION = {
  name: 'nitro_attestation.b64',
  at: new Date('2024-09-07T14:37:39.545Z'),
  moduleId: 'i-0a22e5c5f24d22174-enc0191cceb4289903f',
  pcr0: 'e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a',
};
const DEBUG = { name: 'nitro_attestation_debug.b64', at: new Date('2024-09-07T14:38:06.508Z'), moduleId: 'i-0a22e5c5f24d22174-enc0191ccebaf8feaba' };
const EVERVAULT = { name: 'ev-valid-attestation-doc-base64', at: new Date('2023-09-18T15:03:30.860Z'), moduleId: 'i-0918f6c55e3b61d89-enc018aa8b8e2285d13' };
const GENUINE = [PRODUCTION, DEBUG, EVERVAULT];
/** The self-signed document's timestamp is in seconds (1713379906), not milliseconds: this is that second. */
const SELF_SIGNED = { name: 'selfsigned_attestation.b64', at: new Date('2024-04-17T18:51:46Z') };

/** The certificate inside the self-signed document: a P-384 self-signed CA that is not AWS's. */
function selfSignedCertificate(): X509Certificate {
  const [, , payload] = decode(readDocument(SELF_SIGNED.name), { useMaps: true }) as [unknown, unknown, Uint8Array];
  return new X509Certificate((decode(payload, { useMaps: true }) as Map<string, Uint8Array>).get('certificate') as Uint8Array);
}

describe('verifyNitroDocument: real AWS documents', () => {
  it('pins the same AWS Nitro root as the samples', () => {
    const [root] = parseCertificates(readSample('nitro/root.pem').toString('latin1'));
    assert.ok(root?.raw.equals(AWS_NITRO_ROOT.raw));
  });

  for (const sample of GENUINE) {
    it(`verifies ${sample.name} at its own timestamp`, () => {
      const verdict = verifyNitroDocument(readDocument(sample.name), { at: sample.at });
      assert.equal(verdict.reason, '');
      assert.equal(verdict.verified, true);
      assert.equal(verdict.type, 'nitro');
      assert.equal(verdict.judgedAt, sample.at.toISOString());
      assert.equal(verdict.producedAt, sample.at.toISOString());
      assert.equal(verdict.tcbStatus, 'NotApplicable');
      assert.equal(verdict.details.moduleId, sample.moduleId);
      assert.equal(verdict.details.digest, 'SHA384');
      assert.equal(verdict.measurement, verdict.measurements.pcr0);
      // No sample's image was signed (PCR8 zero), so none names a signer.
      assert.equal(verdict.measurements.pcr8, ZERO_PCR);
      assert.equal(verdict.signer, '');
    });

    it(`refuses ${sample.name} today: its 3-hour signing certificate has expired`, () => {
      assertRefused(verifyNitroDocument(readDocument(sample.name), { at: TODAY }), /certificate ".*\.aws" expired at/);
    });

    it(`refuses ${sample.name} against a root that is not AWS's`, () => {
      const impostors = [selfSignedCertificate(), ...parseCertificates(fs.readFileSync(path.join(FIXTURES, 'nitro-test-root.pem'), 'latin1'))];
      for (const root of impostors) {
        assertRefused(verifyNitroDocument(readDocument(sample.name), { at: sample.at, roots: [root] }), /"aws\.nitro-enclaves", which is not a pinned root nor signed by one/);
      }
    });
  }

  it('reads the production document: image measured, not debug, 1024-byte public key, user data and nonce', () => {
    const verdict = verifyNitroDocument(readDocument(PRODUCTION.name), { at: PRODUCTION.at });
    assert.equal(verdict.debug, false);
    assert.equal(verdict.measurement, PRODUCTION.pcr0);
    assert.deepEqual(Object.keys(verdict.measurements), ['pcr0', 'pcr1', 'pcr2', 'pcr3', 'pcr4', 'pcr8']);
    assert.equal(verdict.measurements.pcr3, ZERO_PCR);
    // The sample's enclave asked for 1024 bytes of 0x01 in each of the three optional fields.
    assert.equal(verdict.reportData, '01'.repeat(1024));
    assert.equal(verdict.details.publicKey, '01'.repeat(1024));
    assert.equal(verdict.details.nonce, '01'.repeat(1024));
  });

  it('reads the debug-mode document as debug: PCR0, PCR1 and PCR2 are zeros, PCR4 (parent instance) is still measured', () => {
    const verdict = verifyNitroDocument(readDocument(DEBUG.name), { at: DEBUG.at });
    assert.equal(verdict.verified, true);
    assert.equal(verdict.debug, true);
    assert.equal(verdict.measurement, ZERO_PCR);
    assert.equal(verdict.measurements.pcr4, '45706d7b621e4620a332e147a5ddb000b049f73d47d3e61f6b03d2069152d4df6a4a786ad1c10102b955799a9dc96b44');
  });

  it('reads the Evervault document: a debug-mode enclave with an IAM role (PCR3), a P-256 key as user data, no public key', () => {
    const verdict = verifyNitroDocument(readDocument(EVERVAULT.name), { at: EVERVAULT.at });
    assert.equal(verdict.verified, true);
    assert.equal(verdict.debug, true);
    assert.notEqual(verdict.measurements.pcr3, ZERO_PCR);
    assert.equal(verdict.details.publicKey, '');
    assert.equal(verdict.reportData.length, 91 * 2);
    const userData = crypto.createPublicKey({ key: Buffer.from(verdict.reportData, 'hex'), format: 'der', type: 'spki' });
    assert.equal(userData.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(String(verdict.details.nonce), /^bba6bfd51866d2e4e095ba3277f208a4[0-9a-f]{480}$/);
  });

  it('refuses the self-signed document: no cabundle ties its certificate to the AWS root', () => {
    for (const at of [SELF_SIGNED.at, TODAY]) {
      assertRefused(
        verifyNitroDocument(readDocument(SELF_SIGNED.name), { at }),
        /^cabundle is null: nothing chains the signing certificate "self-signed attester" to a pinned root$/,
      );
    }
  });

  it('refuses the self-signed document even with its own certificate pinned as the root', () => {
    const verdict = verifyNitroDocument(readDocument(SELF_SIGNED.name), { at: SELF_SIGNED.at, roots: [selfSignedCertificate()] });
    assertRefused(verdict, /cabundle is null/);
  });

  it('accepts the same document tagged as COSE_Sign1 (tag 18), which AWS leaves out', () => {
    const document = readDocument(PRODUCTION.name);
    assert.equal(document[0], 0x84, 'the sample is an untagged array of four');
    const tagged = Buffer.concat([Buffer.from([0xd2]), document]);
    assert.deepEqual(verifyNitroDocument(tagged, { at: PRODUCTION.at }), verifyNitroDocument(document, { at: PRODUCTION.at }));
  });

  it('refuses changes outside the signature: another tag, trailing bytes, a header in the unprotected bucket, indefinite or padded lengths', () => {
    const document = readDocument(PRODUCTION.name);
    const [protectedHeader, , payload, signature] = decode(document, { useMaps: true }) as [Uint8Array, Map<number, unknown>, Uint8Array, Uint8Array];
    assert.ok(Buffer.from(encode([protectedHeader, new Map(), payload, signature])).equals(document), 'the sample re-encodes to itself');
    const at = { at: PRODUCTION.at };
    assertRefused(verifyNitroDocument(Buffer.concat([Buffer.from([0xd8, 0x62]), document]), at), /not strict CBOR/);
    assertRefused(verifyNitroDocument(Buffer.concat([Buffer.from([0xd8, 0x12]), document]), at), /not strict CBOR/);
    assertRefused(verifyNitroDocument(Buffer.concat([document, Buffer.from([0x00])]), at), /not strict CBOR/);
    const withKid = Buffer.from(encode([protectedHeader, new Map([[4, Uint8Array.of(1)]]), payload, signature]));
    assertRefused(verifyNitroDocument(withKid, at), /unprotected header is a map of 1, not an empty map/);
    const withNull = Buffer.from(encode([protectedHeader, null, payload, signature]));
    assertRefused(verifyNitroDocument(withNull, at), /unprotected header is null, not an empty map/);
    const indefinite = Buffer.concat([Buffer.from([0x9f]), document.subarray(1), Buffer.from([0xff])]);
    assertRefused(verifyNitroDocument(indefinite, at), /not strict CBOR/);
    const paddedLength = Buffer.concat([Buffer.from([0x84, 0x58, 0x04]), document.subarray(2)]);
    assertRefused(verifyNitroDocument(paddedLength, at), /not strict CBOR/);
    assertRefused(verifyNitroDocument(Buffer.from(encode([protectedHeader, new Map(), payload])), at), /not a COSE_Sign1 array of 4/);
  });

  it('refuses every single-byte change to the COSE envelope, the protected header and the signature', () => {
    const document = readDocument(PRODUCTION.name);
    const [, , payload] = decode(document, { useMaps: true }) as [unknown, unknown, Uint8Array];
    const payloadStart = document.indexOf(Buffer.from(payload));
    const positions = [...Array(payloadStart).keys(), ...Array.from({ length: document.length - payloadStart - payload.length }, (_, i) => payloadStart + payload.length + i)];
    assert.equal(positions.length, document.length - payload.length);
    for (const position of positions) {
      for (const xor of [0x01, 0x80, 0xff]) {
        const verdict = verifyNitroDocument(flipByte(document, position, xor), { at: PRODUCTION.at });
        assert.equal(verdict.verified, false, `byte ${position} ^ 0x${xor.toString(16)} was accepted`);
      }
    }
  });

  for (const sample of GENUINE) {
    it(`refuses ${sample.name} with any single byte changed anywhere (property)`, () => {
      const document = readDocument(sample.name);
      fc.assert(
        fc.property(fc.nat({ max: document.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, xor) => {
          const verdict = verifyNitroDocument(flipByte(document, position, xor), { at: sample.at });
          return !verdict.verified && verdict.reason !== '';
        }),
        { numRuns: 300 },
      );
    });
  }
});

const testPki = {
  root: new X509Certificate(fs.readFileSync(path.join(FIXTURES, 'nitro-test-root.pem'))),
  intermediate: new X509Certificate(fs.readFileSync(path.join(FIXTURES, 'nitro-test-intermediate.pem'))),
  leaf: new X509Certificate(fs.readFileSync(path.join(FIXTURES, 'nitro-test-leaf.pem'))),
  deepIntermediate: new X509Certificate(fs.readFileSync(path.join(FIXTURES, 'nitro-test-deep-intermediate.pem'))),
  deepLeaf: new X509Certificate(fs.readFileSync(path.join(FIXTURES, 'nitro-test-deep-leaf.pem'))),
  leafKey: crypto.createPrivateKey(fs.readFileSync(path.join(FIXTURES, 'nitro-test-leaf-key.pem'))),
};
/** An hour into the test leaf's life: every test document is produced and judged then. */
const TEST_AT = new Date(new Date(testPki.leaf.validFrom).getTime() + 3_600_000);
const TEST_OPTIONS = { at: TEST_AT, roots: [testPki.root] };
const ES384_HEADER = Buffer.from(encode(new Map([[1, -35]])));

function testPcrs(): Map<number, Uint8Array> {
  return new Map(Array.from({ length: 16 }, (_, index) => [index, new Uint8Array(48).fill(index <= 2 ? index + 1 : 0)]));
}

/** A payload laid out as AWS lays it out, with `changes` applied in place (undefined removes a field). */
function testPayload(changes: Record<string, unknown> = {}): Map<string, unknown> {
  const payload = new Map<string, unknown>([
    ['module_id', 'i-00000000000000000-enc0000000000000000'],
    ['digest', 'SHA384'],
    ['timestamp', TEST_AT.getTime()],
    ['pcrs', testPcrs()],
    ['certificate', testPki.leaf.raw],
    ['cabundle', [testPki.root.raw, testPki.intermediate.raw]],
    ['public_key', null],
    ['user_data', Buffer.from('report data')],
    ['nonce', Buffer.from('a nonce')],
  ]);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) payload.delete(name);
    else payload.set(name, value);
  }
  return payload;
}

function encodeInOrder(value: unknown): Buffer {
  return Buffer.from(encode(value, { mapSorter: () => 0 }));
}

interface Signing {
  protectedHeader?: Uint8Array;
  key?: crypto.KeyObject;
  tagged?: boolean;
}

function signPayloadBytes(payloadBytes: Uint8Array, { protectedHeader = ES384_HEADER, key = testPki.leafKey, tagged = false }: Signing = {}): Buffer {
  const signed = encode(['Signature1', protectedHeader, new Uint8Array(0), payloadBytes]);
  const signature = crypto.sign('sha384', signed, { key, dsaEncoding: 'ieee-p1363' });
  const sign1 = [protectedHeader, new Map(), payloadBytes, signature];
  return Buffer.from(encode(tagged ? new Tagged(18, sign1) : sign1));
}

function signPayload(payload: Map<string, unknown>, signing: Signing = {}): Buffer {
  return signPayloadBytes(encodeInOrder(payload), signing);
}

describe('verifyNitroDocument: documents signed by a test PKI', () => {
  it('verifies a well-formed document, tagged or not, and reports what it says', () => {
    const pcrs = testPcrs();
    pcrs.set(8, new Uint8Array(48).fill(8));
    pcrs.set(16, new Uint8Array(48).fill(16));
    for (const tagged of [false, true]) {
      const verdict = verifyNitroDocument(signPayload(testPayload({ pcrs }), { tagged }), TEST_OPTIONS);
      assert.equal(verdict.reason, '', `tagged: ${tagged}`);
      assert.equal(verdict.verified, true);
      assert.equal(verdict.measurement, '01'.repeat(48));
      assert.deepEqual(Object.keys(verdict.measurements), ['pcr0', 'pcr1', 'pcr2', 'pcr3', 'pcr4', 'pcr8', 'pcr16']);
      assert.equal(verdict.signer, '08'.repeat(48));
      assert.equal(verdict.debug, false);
      assert.equal(verdict.reportData, Buffer.from('report data').toString('hex'));
      assert.equal(verdict.details.nonce, Buffer.from('a nonce').toString('hex'));
      assert.equal(verdict.details.publicKey, '');
      assert.equal(verdict.producedAt, TEST_AT.toISOString());
    }
  });

  it('reads debug mode from the image PCRs only: all three zero is debug, PCR0 alone is not', () => {
    const zero = new Uint8Array(48);
    const debugPcrs = testPcrs();
    for (const index of [0, 1, 2]) debugPcrs.set(index, zero);
    assert.equal(verifyNitroDocument(signPayload(testPayload({ pcrs: debugPcrs })), TEST_OPTIONS).debug, true);
    const pcr0Zero = testPcrs();
    pcr0Zero.set(0, zero);
    const verdict = verifyNitroDocument(signPayload(testPayload({ pcrs: pcr0Zero })), TEST_OPTIONS);
    assert.equal(verdict.verified, true);
    assert.equal(verdict.debug, false);
  });

  it('accepts optional fields absent or null, and empty user data and nonce', () => {
    const absent = testPayload({ public_key: undefined, user_data: undefined, nonce: undefined });
    assert.equal(verifyNitroDocument(signPayload(absent), TEST_OPTIONS).verified, true);
    const empty = testPayload({ user_data: new Uint8Array(0), nonce: new Uint8Array(0), public_key: Uint8Array.of(4) });
    const verdict = verifyNitroDocument(signPayload(empty), TEST_OPTIONS);
    assert.equal(verdict.verified, true);
    assert.equal(verdict.reportData, '');
    assert.equal(verdict.details.publicKey, '04');
  });

  it('accepts a cabundle that starts below the root, as long as its first entry is signed by a pinned root', () => {
    assert.equal(verifyNitroDocument(signPayload(testPayload({ cabundle: [testPki.intermediate.raw] })), TEST_OPTIONS).verified, true);
  });

  it('refuses chains AWS would not issue: stray bundle entries, a CA beyond a path length, a CA as signer, a missing intermediate', () => {
    const stray = testPayload({ cabundle: [testPki.deepIntermediate.raw, testPki.root.raw, testPki.intermediate.raw] });
    assertRefused(verifyNitroDocument(signPayload(stray), TEST_OPTIONS), /cabundle holds 1 certificate\(s\) before the pinned root that are not on the chain/);
    const deep = testPayload({ certificate: testPki.deepLeaf.raw, cabundle: [testPki.root.raw, testPki.intermediate.raw, testPki.deepIntermediate.raw] });
    assertRefused(verifyNitroDocument(signPayload(deep), TEST_OPTIONS), /"nitro test intermediate" allows 0 CA\(s\) below it, the chain has 1/);
    const caSigner = testPayload({ certificate: testPki.intermediate.raw, cabundle: [testPki.root.raw] });
    assertRefused(verifyNitroDocument(signPayload(caSigner), TEST_OPTIONS), /"nitro test intermediate" is a CA, not an end entity/);
    const gap = testPayload({ cabundle: [testPki.root.raw] });
    assertRefused(verifyNitroDocument(signPayload(gap), TEST_OPTIONS), /not signed by "nitro test root"|not a pinned root nor signed by one/);
    assertRefused(verifyNitroDocument(signPayload(testPayload({ cabundle: [] })), TEST_OPTIONS), /cabundle is empty: nothing chains the signing certificate "nitro test leaf" to a pinned root/);
    const notCertificate = testPayload({ cabundle: [testPki.root.raw, Buffer.from('not a certificate')] });
    assertRefused(verifyNitroDocument(signPayload(notCertificate), TEST_OPTIONS), /cabundle\[1\] is not an X\.509 certificate/);
  });

  it('refuses a signature that is not the leaf key over this Sig_structure', () => {
    const otherKey = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    assertRefused(verifyNitroDocument(signPayload(testPayload(), { key: otherKey }), TEST_OPTIONS), /signature does not verify with the key of "nitro test leaf"/);
    const es256Header = Buffer.from(encode(new Map([[1, -7]])));
    assertRefused(verifyNitroDocument(signPayload(testPayload(), { protectedHeader: es256Header }), TEST_OPTIONS), /exactly \{alg: ES384 \(-35\)\}.*alg -7/);
    const extraHeader = Buffer.from(encode(new Map<number, unknown>([[1, -35], [4, Uint8Array.of(1)]])));
    assertRefused(verifyNitroDocument(signPayload(testPayload(), { protectedHeader: extraHeader }), TEST_OPTIONS), /it has 2 entries/);
    const [protectedHeader, unprotected, payload, signature] = decode(signPayload(testPayload()), { useMaps: true }) as unknown[];
    const short = Buffer.from(encode([protectedHeader, unprotected, payload, (signature as Uint8Array).subarray(1)]));
    assertRefused(verifyNitroDocument(short, TEST_OPTIONS), /signature has 95 bytes, ES384 needs 96/);
  });

  it('refuses payloads with fields missing, unknown, null or of the wrong type', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ extra: 1 }, /unknown field "extra"/],
      [{ digest: undefined }, /the payload has no digest/],
      [{ module_id: null }, /module_id is null, not a non-empty text string/],
      [{ module_id: '' }, /module_id is a string, not a non-empty text string/],
      [{ digest: 'SHA256' }, /digest is "SHA256", not "SHA384"/],
      [{ timestamp: 1.5 }, /timestamp is 1\.5, not a positive integer/],
      [{ timestamp: String(TEST_AT.getTime()) }, /timestamp is a string/],
      [{ pcrs: new Map() }, /pcrs has 0 entries, outside 1\.\.32/],
      [{ pcrs: [new Uint8Array(48)] }, /pcrs is an array, not a map/],
      [{ public_key: new Uint8Array(0) }, /public_key has 0 bytes, outside 1\.\.1024/],
      [{ user_data: new Uint8Array(1025) }, /user_data has 1025 bytes, outside 0\.\.1024/],
      [{ nonce: 'nonce' }, /nonce is a string, not a byte string/],
      [{ cabundle: [testPki.root.raw, testPki.intermediate.raw, new Uint8Array(0)] }, /cabundle\[2\] has 0 bytes, outside 1\.\.1024/],
    ];
    for (const [changes, reason] of cases) assertRefused(verifyNitroDocument(signPayload(testPayload(changes)), TEST_OPTIONS), reason);
    assertRefused(verifyNitroDocument(signPayloadBytes(encodeInOrder([1, 2])), TEST_OPTIONS), /the payload is an array, not a map/);
  });

  it('refuses PCRs of the wrong size or index, and a document without the image PCRs', () => {
    const short = testPcrs();
    short.set(0, new Uint8Array(32).fill(1));
    assertRefused(verifyNitroDocument(signPayload(testPayload({ pcrs: short })), TEST_OPTIONS), /PCR0 has 32 bytes, outside 48\.\.48/);
    const outOfRange = testPcrs();
    outOfRange.set(32, new Uint8Array(48));
    outOfRange.delete(15);
    assertRefused(verifyNitroDocument(signPayload(testPayload({ pcrs: outOfRange })), TEST_OPTIONS), /pcrs index 32 is not an integer in 0\.\.31/);
    const textIndex = new Map<unknown, Uint8Array>(testPcrs());
    textIndex.set('0', new Uint8Array(48));
    assertRefused(verifyNitroDocument(signPayload(testPayload({ pcrs: textIndex })), TEST_OPTIONS), /pcrs index "0" is not an integer in 0\.\.31/);
    const noPcr1 = testPcrs();
    noPcr1.delete(1);
    assertRefused(verifyNitroDocument(signPayload(testPayload({ pcrs: noPcr1 })), TEST_OPTIONS), /pcrs lacks PCR1/);
  });

  it('refuses a timestamp written as a float, even one that equals an integer', () => {
    const payloadBytes = encodeInOrder(testPayload());
    const asUint64 = Buffer.alloc(9);
    asUint64[0] = 0x1b;
    asUint64.writeBigUInt64BE(BigInt(TEST_AT.getTime()), 1);
    const asFloat64 = Buffer.alloc(9);
    asFloat64[0] = 0xfb;
    asFloat64.writeDoubleBE(TEST_AT.getTime(), 1);
    const at = payloadBytes.indexOf(asUint64);
    assert.ok(at > 0, 'the timestamp is a 64-bit unsigned integer');
    const floatPayload = Buffer.concat([payloadBytes.subarray(0, at), asFloat64, payloadBytes.subarray(at + 9)]);
    assert.equal((decode(floatPayload, { useMaps: true }) as Map<string, unknown>).get('timestamp'), TEST_AT.getTime());
    assertRefused(verifyNitroDocument(signPayloadBytes(floatPayload), TEST_OPTIONS), /payload is not in its shortest CBOR encoding/);
  });

  it('refuses a timestamp outside the signing certificate\'s life', () => {
    const before = new Date(testPki.leaf.validFrom).getTime() - 1000;
    assertRefused(verifyNitroDocument(signPayload(testPayload({ timestamp: before })), TEST_OPTIONS), /timestamp \d+ lies outside the signing certificate's validity/);
  });

  it('refuses to judge at an invalid time', () => {
    assertRefused(verifyNitroDocument(signPayload(testPayload()), { at: new Date(Number.NaN), roots: [testPki.root] }), /not a valid date/);
  });
});
