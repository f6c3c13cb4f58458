/**
 * Raw-digest ECDSA against an independent reference: @noble/curves' RFC 6979 signer (HMAC-SHA-1, no
 * S normalisation), whose point arithmetic is pure JavaScript while TCF's runs on libsecp256k1, native
 * or WebAssembly: both builds are checked, since a machine without the native prebuild uses the other.
 * The Avalon vectors (test/interop) pin a few signatures; these properties cover random keys and digests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ecdsa } from '@noble/curves/abstract/weierstrass.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { ecdsaSignDigest, ecdsaVerifyDigest, generateSigningKey, signingKeyFromPem, signingKeyToPem } from '../../src/crypto/index.js';
import { libsecp256k1, libsecp256k1Build, type Libsecp256k1Build } from '../../src/crypto/libsecp256k1.js';

const reference = ecdsa(secp256k1.Point, sha1);
const ORDER = secp256k1.Point.Fn.ORDER;
const privateKeys = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((bytes) => {
  const value = BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
  return value > 0n && value < ORDER;
});
const digests = fc.uint8Array({ minLength: 32, maxLength: 32 });

function loads(build: Libsecp256k1Build): boolean {
  try {
    libsecp256k1Build(build);
    return true;
  } catch {
    return false;
  }
}

for (const build of ['native', 'webassembly'] satisfies Libsecp256k1Build[]) describe(`secp256k1 ECDSA over a raw digest, libsecp256k1 ${build}`, { skip: loads(build) ? false : `no ${build} build of libsecp256k1 loads on this platform` }, () => {
  const curve = () => libsecp256k1Build(build);

  it('signs byte-identically to the RFC 6979 reference for random keys and digests', () => {
    fc.assert(
      fc.property(privateKeys, digests, (privateKey, digest) => {
        const expected = Buffer.from(reference.sign(digest, privateKey, { prehash: false, lowS: false, format: 'der' }));
        assert.equal(ecdsaSignDigest(privateKey, digest, curve()).toString('hex'), expected.toString('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('verifies its own signatures and their high-/low-S twins, and nothing altered', () => {
    const key = signingKeyFromPem(signingKeyToPem(generateSigningKey()));
    const other = generateSigningKey();
    fc.assert(
      fc.property(digests, fc.nat(), (digest, flip) => {
        const der = ecdsaSignDigest(key.privateKey, digest, curve());
        assert.ok(ecdsaVerifyDigest(key.publicKey, digest, der, curve()));
        const signature = secp256k1.Signature.fromBytes(der, 'der');
        const twin = new secp256k1.Signature(signature.r, ORDER - signature.s).toBytes('der');
        assert.ok(ecdsaVerifyDigest(key.publicKey, digest, twin, curve()), 'the other S of the same signature verifies');
        assert.ok(!ecdsaVerifyDigest(other.publicKey, digest, der, curve()), 'another key does not verify it');
        const alteredDigest = Uint8Array.from(digest);
        alteredDigest[flip % 32]! ^= 1 << (flip % 8);
        assert.ok(!ecdsaVerifyDigest(key.publicKey, alteredDigest, der, curve()), 'another digest does not verify');
      }),
      { numRuns: 100 },
    );
  });

  it('refuses malformed input instead of throwing', () => {
    const key = generateSigningKey();
    const digest = new Uint8Array(32).fill(7);
    const der = ecdsaSignDigest(key.privateKey, digest, curve());
    assert.ok(!ecdsaVerifyDigest(key.publicKey, digest, der.subarray(0, der.length - 1), curve()));
    assert.ok(!ecdsaVerifyDigest(key.publicKey, digest.subarray(0, 31), der, curve()));
    assert.ok(!ecdsaVerifyDigest(new Uint8Array(65).fill(4), digest, der, curve()));
    assert.ok(!ecdsaVerifyDigest(key.publicKey, digest, Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01), curve()));
    assert.throws(() => ecdsaSignDigest(key.privateKey, digest.subarray(0, 31), curve()), /32-byte digest/);
    assert.throws(() => ecdsaSignDigest(new Uint8Array(32), digest, curve()), /private key/);
  });
});

describe('libsecp256k1 build', () => {
  it('is native wherever its prebuild loads, else WebAssembly, unless TCF_SECP256K1 pins one', () => {
    assert.equal(libsecp256k1().build, process.env.TCF_SECP256K1 || (loads('native') ? 'native' : 'webassembly'));
  });
});
