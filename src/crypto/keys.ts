/**
 * Key pairs and their PEM forms: secp256k1 signing keys (SEC1 private, SPKI public, as Avalon writes
 * them) and RSA encryption keys (PKCS#1 private, SPKI public).
 */
import crypto from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { CryptoError, sha256 } from './primitives.js';

export interface SigningKeyPair {
  /** 32-byte scalar. */
  readonly privateKey: Uint8Array;
  /** 65-byte uncompressed point. */
  readonly publicKey: Uint8Array;
  readonly publicKeyPem: string;
}

export interface EncryptionKeyPair {
  readonly privateKey: crypto.KeyObject;
  readonly publicKey: crypto.KeyObject;
  readonly publicKeyPem: string;
  readonly bits: number;
}

export const DEFAULT_RSA_BITS = 3072;

export function generateSigningKey(): SigningKeyPair {
  return signingKeyFromScalar(secp256k1.utils.randomSecretKey());
}

export function signingKeyFromScalar(privateKey: Uint8Array): SigningKeyPair {
  const publicKey = secp256k1.getPublicKey(privateKey, false);
  return { privateKey, publicKey, publicKeyPem: verifyingKeyToPem(publicKey) };
}

export function signingKeyFromPem(pem: string): SigningKeyPair {
  let jwk: crypto.JsonWebKey;
  try {
    jwk = crypto.createPrivateKey(pem).export({ format: 'jwk' });
  } catch {
    throw new CryptoError('not a PEM private key');
  }
  if (jwk.crv !== 'secp256k1' || jwk.d === undefined) throw new CryptoError('not a secp256k1 private key');
  return signingKeyFromScalar(Buffer.from(jwk.d, 'base64url'));
}

export function signingKeyToPem(key: SigningKeyPair): string {
  return crypto.createPrivateKey({ key: toJwk(key.publicKey, key.privateKey), format: 'jwk' })
    .export({ format: 'pem', type: 'sec1' })
    .toString();
}

/** Parses an SPKI PEM secp256k1 public key into its uncompressed point. */
export function verifyingKeyFromPem(pem: string): Uint8Array {
  let jwk: crypto.JsonWebKey;
  try {
    jwk = crypto.createPublicKey(pem).export({ format: 'jwk' });
  } catch {
    throw new CryptoError('not a PEM public key');
  }
  if (jwk.crv !== 'secp256k1' || jwk.x === undefined || jwk.y === undefined) throw new CryptoError('not a secp256k1 public key');
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

export function verifyingKeyToPem(publicKey: Uint8Array): string {
  return crypto.createPublicKey({ key: toJwk(publicKey), format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString();
}

function toJwk(publicKey: Uint8Array, privateKey?: Uint8Array): crypto.JsonWebKey {
  const point = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  const jwk: crypto.JsonWebKey = {
    kty: 'EC',
    crv: 'secp256k1',
    x: Buffer.from(point.subarray(1, 33)).toString('base64url'),
    y: Buffer.from(point.subarray(33, 65)).toString('base64url'),
  };
  if (privateKey) jwk.d = Buffer.from(privateKey).toString('base64url');
  return jwk;
}

/**
 * A requester's self-certifying identity: hex SHA-256 of its verifying key's SPKI DER. Binding
 * requesterId to the key closes Avalon's hole of trusting whatever key arrives with the request.
 */
export function requesterIdForKey(publicKey: Uint8Array): string {
  const der = crypto.createPublicKey({ key: toJwk(publicKey), format: 'jwk' }).export({ format: 'der', type: 'spki' });
  return sha256(der).toString('hex');
}

export function generateEncryptionKey(bits: number = DEFAULT_RSA_BITS): EncryptionKeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  return { privateKey, publicKey, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), bits };
}

export function encryptionKeyFromPem(privatePem: string): EncryptionKeyPair {
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(privatePem);
  } catch {
    throw new CryptoError('not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new CryptoError('not an RSA private key');
  const publicKey = crypto.createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    bits: privateKey.asymmetricKeyDetails?.modulusLength ?? 0,
  };
}

export function encryptionKeyToPem(key: EncryptionKeyPair): string {
  return key.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
}

/** Parses a worker's published RSA public key (SPKI or PKCS#1 PEM). */
export function encryptionPublicKeyFromPem(pem: string): crypto.KeyObject {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey(pem);
  } catch {
    throw new CryptoError('not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new CryptoError('not an RSA public key');
  return key;
}
