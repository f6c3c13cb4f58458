/**
 * crypto/ owns every cryptographic operation of TCF: encodings, primitives (hash, AES-GCM,
 * RSA-OAEP, raw-digest secp256k1 ECDSA) and key pairs with their PEM forms. Pure functions only;
 * no I/O beyond the OS random source.
 */
export * from './encoding.js';
export * from './primitives.js';
export * from './keys.js';
