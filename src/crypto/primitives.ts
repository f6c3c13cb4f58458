/**
 * The cryptographic primitives of a work order, each a small pure function:
 * SHA-256 (and the other digests a worker may advertise), AES-256-GCM, RSA-OAEP key wrapping and
 * secp256k1 ECDSA over a raw 32-byte digest.
 *
 * Everything runs on Node's OpenSSL except ECDSA signing/verification: Avalon signs the digest
 * itself, and Node's sign/verify always hash their input again, so raw-digest ECDSA is put together
 * here around libsecp256k1 (crypto/libsecp256k1.ts).
 */
import crypto from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { mod } from '@noble/curves/abstract/modular.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { CURVE_ORDER, libsecp256k1, type Libsecp256k1 } from './libsecp256k1.js';

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

/**
 * The digest of the UTF-8 bytes of the texts, concatenated: each is encoded straight into the hash,
 * so a large text (a data item's base64) is neither joined into a new string nor copied into a buffer.
 * Each text is encoded on its own, so a lone surrogate at the end of one is not paired with one
 * starting the next (both become U+FFFD, as in any unpaired position).
 */
export function digestText(algorithm: HashingAlgorithm, texts: Iterable<string>): Buffer {
  const hash = crypto.createHash(OPENSSL_DIGEST[algorithm]);
  for (const text of texts) hash.update(text, 'utf8');
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

function hmacSha1(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const hmac = crypto.createHmac('sha1', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/**
 * RFC 6979 section 3.2 nonces for secp256k1 with HMAC-SHA-1, as python-ecdsa's sign_digest_deterministic
 * makes them by default: that reproduces Avalon's signatures byte for byte (any RFC 6979 hash is as
 * safe). The digest and the key are both 256 bits, the curve order's length, so bits2int needs no shift
 * for them; each candidate takes the leftmost 256 bits of two HMAC outputs.
 */
function* rfc6979Sha1Nonces(privateKey: Uint8Array, digest32: Uint8Array): Generator<bigint> {
  const h1 = numberToBytesBE(bytesToNumberBE(digest32) % CURVE_ORDER, 32);
  let v: Buffer = Buffer.alloc(20, 0x01);
  let k: Buffer = Buffer.alloc(20, 0x00);
  k = hmacSha1(k, v, Uint8Array.of(0x00), privateKey, h1);
  v = hmacSha1(k, v);
  k = hmacSha1(k, v, Uint8Array.of(0x01), privateKey, h1);
  v = hmacSha1(k, v);
  for (;;) {
    const first = (v = hmacSha1(k, v));
    const second = (v = hmacSha1(k, v));
    const candidate = bytesToNumberBE(Buffer.concat([first, second]).subarray(0, 32));
    if (candidate > 0n && candidate < CURVE_ORDER) yield candidate;
    k = hmacSha1(k, v, Uint8Array.of(0x00));
    v = hmacSha1(k, v);
  }
}

/**
 * DER ECDSA secp256k1 signature over a 32-byte digest (the digest is not hashed again), with S as
 * python-ecdsa leaves it: not normalised to the low half, as Avalon's signatures are. libsecp256k1
 * returns one of the two S values; the one Avalon sends is k⁻¹(z + r·d), which one multiplication
 * tells apart from the other.
 */
export function ecdsaSignDigest(privateKey: Uint8Array, digest32: Uint8Array, curve: Libsecp256k1 = libsecp256k1()): Buffer {
  if (digest32.length !== 32) throw new CryptoError('ECDSA signs a 32-byte digest');
  const d = bytesToNumberBE(privateKey);
  if (privateKey.length !== 32 || d <= 0n || d >= CURVE_ORDER) throw new CryptoError('not a secp256k1 private key');
  const nonces = rfc6979Sha1Nonces(privateKey, digest32);
  const { r, s, nonce } = curve.sign(digest32, privateKey, () => nonces.next().value as bigint);
  const unnormalised = mod(s * nonce, CURVE_ORDER) === mod(bytesToNumberBE(digest32) + r * d, CURVE_ORDER) ? s : CURVE_ORDER - s;
  return Buffer.from(new secp256k1.Signature(r, unnormalised).toBytes('der'));
}

/** Accepts high- and low-S DER signatures, since Avalon's Python signs high-S and its enclave low-S. */
export function ecdsaVerifyDigest(publicKey: Uint8Array, digest32: Uint8Array, derSignature: Uint8Array, curve: Libsecp256k1 = libsecp256k1()): boolean {
  if (digest32.length !== 32) return false;
  try {
    const signature = secp256k1.Signature.fromBytes(derSignature, 'der');
    if (signature.r === 0n || signature.s === 0n) return false;
    const lowS = signature.hasHighS() ? new secp256k1.Signature(signature.r, CURVE_ORDER - signature.s) : signature;
    return curve.verifyLowS(digest32, publicKey, lowS.toBytes('compact'));
  } catch {
    return false;
  }
}
