import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesGcmOpen,
  base64ToBytes,
  ecdsaSignDigest,
  ecdsaVerifyDigest,
  encryptionKeyFromPem,
  encryptionKeyHash,
  hexToBytes,
  rsaOaepUnwrap,
  sha256,
  signingKeyFromPem,
  utf8,
  verifyingKeyFromPem,
  workOrderRequestHash,
  workOrderResponseHash,
  type RequestHashFields,
  type ResponseHashFields,
} from '../../src/index.js';
import { loadAvalonVectors } from '../helpers/vectors.js';

const vectors = loadAvalonVectors();
const workerSigning = signingKeyFromPem(vectors.keys.workerSigningPrivatePem);
const requesterSigning = signingKeyFromPem(vectors.keys.requesterSigningPrivatePem);
const workerRsa = encryptionKeyFromPem(vectors.keys.workerRsaPrivatePem);

describe('Avalon interop vectors (shared/interop)', () => {
  it('key PEMs import, and the public halves match the published ones', () => {
    assert.deepEqual(Buffer.from(workerSigning.publicKey), Buffer.from(verifyingKeyFromPem(vectors.keys.workerVerifyingPem)));
    assert.deepEqual(Buffer.from(requesterSigning.publicKey), Buffer.from(verifyingKeyFromPem(vectors.keys.requesterVerifyingPem)));
    assert.equal(workerRsa.bits, vectors.keys.workerRsaBits);
  });

  it(`reproduces all ${vectors.requestHash.length} request hashes`, () => {
    assert.ok(vectors.requestHash.length > 0);
    for (const vector of vectors.requestHash) {
      const hash = workOrderRequestHash(vector.params as unknown as RequestHashFields);
      assert.equal(hash.toString('hex'), vector.sha256Hex, JSON.stringify(vector.params));
    }
  });

  it(`reproduces all ${vectors.responseHash.length} response hashes and verifies Avalon's worker signatures`, () => {
    assert.ok(vectors.responseHash.length > 0);
    for (const vector of vectors.responseHash) {
      const result = vector.result as unknown as ResponseHashFields & { workerSignature: string };
      const hash = workOrderResponseHash(result);
      assert.equal(hash.toString('hex'), vector.sha256Hex);
      const verified = ecdsaVerifyDigest(workerSigning.publicKey, hash, base64ToBytes(result.workerSignature));
      assert.equal(verified, vector.verifiesWithWorkerKey);
      // TCF's own signature over the same hash is byte-identical (RFC 6979 as python-ecdsa does it).
      assert.equal(ecdsaSignDigest(workerSigning.privateKey, hash).toString('base64'), result.workerSignature);
    }
  });

  it(`signs all ${vectors.signatures.length} digests byte-identically and verifies both keys' signatures`, () => {
    for (const vector of vectors.signatures) {
      const digest = sha256(utf8(vector.messageUtf8));
      assert.equal(digest.toString('hex'), vector.digestHex);
      assert.equal(ecdsaSignDigest(workerSigning.privateKey, digest).toString('base64'), vector.workerSignatureB64);
      assert.equal(ecdsaSignDigest(requesterSigning.privateKey, digest).toString('base64'), vector.requesterSignatureB64);
      assert.ok(ecdsaVerifyDigest(workerSigning.publicKey, digest, base64ToBytes(vector.workerSignatureB64)));
      assert.ok(ecdsaVerifyDigest(requesterSigning.publicKey, digest, base64ToBytes(vector.requesterSignatureB64)));
      assert.ok(!ecdsaVerifyDigest(workerSigning.publicKey, digest, base64ToBytes(vector.requesterSignatureB64)));
    }
  });

  it(`unwraps all ${vectors.sessionKeys.length} RSA-OAEP(SHA-1) session keys`, () => {
    for (const vector of vectors.sessionKeys) {
      const key = rsaOaepUnwrap(workerRsa.privateKey, hexToBytes(vector.encryptedSessionKeyHex));
      assert.equal(key.toString('hex'), vector.sessionKeyHex);
    }
  });

  it(`reproduces all ${vectors.aesGcm.length} AES-256-GCM vectors in both layouts`, () => {
    for (const vector of vectors.aesGcm) {
      const key = hexToBytes(vector.keyHex);
      const iv = hexToBytes(vector.ivHex);
      const plaintext = hexToBytes(vector.plaintextHex);
      assert.equal(aesGcmEncrypt(key, iv, plaintext).toString('hex'), vector.withGivenIv_ciphertextTagHex);
      assert.equal(aesGcmDecrypt(key, iv, hexToBytes(vector.withGivenIv_ciphertextTagHex)).toString('hex'), vector.plaintextHex);
      assert.equal(aesGcmOpen(key, hexToBytes(vector.withGeneratedIv_ivCiphertextTagHex)).toString('hex'), vector.plaintextHex);
    }
  });

  it('reproduces the worker encryptionKeySignature', () => {
    for (const vector of vectors.encryptionKeySignature) {
      const digest = encryptionKeyHash(vector.encryptionKeyPem);
      assert.equal(ecdsaSignDigest(workerSigning.privateKey, digest).toString('hex'), vector.signatureHex);
      assert.ok(ecdsaVerifyDigest(workerSigning.publicKey, digest, hexToBytes(vector.signatureHex)));
    }
  });
});
