/**
 * The cryptographic primitives of a work order, each a small pure function:
 * SHA-256 (and the other digests a worker may advertise), AES-256-GCM, RSA-OAEP key wrapping and
 * secp256k1 ECDSA over a raw 32-byte digest.
 *
 * Everything runs on Node's OpenSSL except ECDSA signing/verification: Avalon signs the digest
 * itself, and Node's sign/verify always hash their input again. @noble/curves does raw-digest ECDSA.
 */
import crypto from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ecdsa } from '@noble/curves/abstract/weierstrass.js';
import { sha1 } from '@noble/hashes/legacy.js';

export const SESSION_KEY_BYTES = 32;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

export type HashingAlgorithm = 'SHA-256' | 'SHA3-256';
export const HASHING_ALGORITHMS: readonly HashingAlgorithm[] = ['SHA-256', 'SHA3-256'];

const OPENSSL_DIGEST: Record<HashingAlgorithm, string> = { 'SHA-256': 'sha256', 'SHA3-256': 'sha3-256' };

export function sha256(...parts: Uint8Array[]): Buffer {
  const hash = crypto.createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

export function digest(algorithm: HashingAlgorithm, ...parts: Uint8Array[]): Buffer {
  const hash = crypto.createHash(OPENSSL_DIGEST[algorithm]);
  for (const part of parts) hash.update(part);
  return hash.digest();
}

export function randomBytes(size: number): Buffer {
  return crypto.randomBytes(size);
}

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
}

/** AES-256-GCM with no AAD; output is ciphertext‖tag, the layout Avalon uses when the IV travels separately. */
export function aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  checkAesParams(key, iv);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export function aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, ciphertextAndTag: Uint8Array): Buffer {
  checkAesParams(key, iv);
  if (ciphertextAndTag.length < GCM_TAG_BYTES) throw new CryptoError('ciphertext shorter than the GCM tag');
  const split = ciphertextAndTag.length - GCM_TAG_BYTES;
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAuthTag(ciphertextAndTag.subarray(split));
  try {
    return Buffer.concat([decipher.update(ciphertextAndTag.subarray(0, split)), decipher.final()]);
  } catch {
    throw new CryptoError('AES-GCM authentication failed');
  }
}

/** iv‖ciphertext‖tag with a fresh IV: Avalon's layout when the encryptor picks the IV itself. */
export function aesGcmSeal(key: Uint8Array, plaintext: Uint8Array): Buffer {
  const iv = randomBytes(GCM_IV_BYTES);
  return Buffer.concat([iv, aesGcmEncrypt(key, iv, plaintext)]);
}

export function aesGcmOpen(key: Uint8Array, sealed: Uint8Array): Buffer {
  if (sealed.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new CryptoError('sealed data too short');
  return aesGcmDecrypt(key, sealed.subarray(0, GCM_IV_BYTES), sealed.subarray(GCM_IV_BYTES));
}

function checkAesParams(key: Uint8Array, iv: Uint8Array): void {
  if (key.length !== SESSION_KEY_BYTES) throw new CryptoError(`AES-256 key must be ${SESSION_KEY_BYTES} bytes, got ${key.length}`);
  if (iv.length !== GCM_IV_BYTES) throw new CryptoError(`GCM IV must be ${GCM_IV_BYTES} bytes, got ${iv.length}`);
}

/** RSA-OAEP with SHA-1 and MGF1-SHA-1: the default of Avalon's clients (PyCryptodome) and its enclave. */
export function rsaOaepWrap(publicKey: crypto.KeyObject, key: Uint8Array): Buffer {
  return crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, key);
}

export function rsaOaepUnwrap(privateKey: crypto.KeyObject, wrapped: Uint8Array): Buffer {
  try {
    return crypto.privateDecrypt({ key: privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, wrapped);
  } catch {
    throw new CryptoError('RSA-OAEP unwrap failed');
  }
}

/**
 * Deterministic nonces per RFC 6979 with HMAC-SHA-1, as python-ecdsa's sign_digest_deterministic does by
 * default: this reproduces Avalon's signatures byte for byte. Any RFC 6979 hash is equally safe. The
 * nonce generator's HMACs run on OpenSSL (same bytes, a fraction of the pure-JS cost).
 */
const secp256k1Rfc6979Sha1 = ecdsa(secp256k1.Point, sha1, {
  hmac: (key: Uint8Array, message: Uint8Array) => crypto.createHmac('sha1', key).update(message).digest(),
});

/**
 * Every signature multiplies the base point by its nonce. An 8-bit window table for it cuts a
 * signature from ~0.45 to ~0.3 ms and speeds up the base-point half of each verification (workers sign
 * twice per work order). It costs ~40 ms and ~10 MiB to build, so it is built on the first signature
 * or verification, not when a process that never signs (most CLI commands) imports this module.
 */
let baseTableBuilt = false;
function withBaseTable(): void {
  if (baseTableBuilt) return;
  secp256k1.Point.BASE.precompute(8);
  baseTableBuilt = true;
}

/** DER ECDSA secp256k1 signature over a 32-byte digest (the digest is not hashed again). */
export function ecdsaSignDigest(privateKey: Uint8Array, digest32: Uint8Array): Buffer {
  if (digest32.length !== 32) throw new CryptoError('ECDSA signs a 32-byte digest');
  withBaseTable();
  return Buffer.from(secp256k1Rfc6979Sha1.sign(digest32, privateKey, { prehash: false, lowS: false, format: 'der' }));
}

/** Accepts high- and low-S DER signatures, since Avalon's Python signs high-S and its enclave low-S. */
export function ecdsaVerifyDigest(publicKey: Uint8Array, digest32: Uint8Array, derSignature: Uint8Array): boolean {
  if (digest32.length !== 32) return false;
  withBaseTable();
  try {
    return secp256k1.verify(derSignature, digest32, publicKey, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}
