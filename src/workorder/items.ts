/**
 * What both sides agree on about one inData/outData item: how its `encryptedDataEncryptionKey`
 * selects the key, which IV applies, and how `data` and `dataHash` are encoded.
 */
import { bytesToHex, hexToBytes } from '../crypto/encoding.js';
import { digest, type HashingAlgorithm } from '../crypto/primitives.js';

export type ItemKeyMode =
  | { kind: 'plain' }
  | { kind: 'session' }
  | { kind: 'item-key'; wrappedKey: Buffer };

/** "-" = plaintext; absent, "", "null" or null = session key; otherwise hex of an RSA-wrapped per-item key. */
export function itemKeyMode(encryptedDataEncryptionKey: string | null | undefined): ItemKeyMode {
  if (encryptedDataEncryptionKey === '-') return { kind: 'plain' };
  if (encryptedDataEncryptionKey === undefined || encryptedDataEncryptionKey === null) return { kind: 'session' };
  if (encryptedDataEncryptionKey === '' || encryptedDataEncryptionKey === 'null') return { kind: 'session' };
  return { kind: 'item-key', wrappedKey: hexToBytes(encryptedDataEncryptionKey) };
}

/** The item's own IV, or undefined when it relies on the request's sessionKeyIv (Avalon style). */
export function itemIv(iv: string | null | undefined): Buffer | undefined {
  if (iv === undefined || iv === null || iv === '') return undefined;
  return hexToBytes(iv);
}

export function plaintextHash(plaintext: Uint8Array, algorithm: HashingAlgorithm): string {
  return bytesToHex(digest(algorithm, plaintext));
}

/**
 * How a response's IVs are chosen. 'per-item' (TCF's default): a fresh IV for every encryption,
 * carried in the item's `iv`. 'avalon': an Avalon requester decrypts every item with the request's
 * sessionKeyIv, so a request in that style is answered in that style (GCM nonce reuse under one key:
 * only for clients that cannot do better).
 */
export type IvMode = 'per-item' | 'avalon';
