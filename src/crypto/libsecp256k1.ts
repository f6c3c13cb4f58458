/**
 * The secp256k1 curve arithmetic under TCF's raw-digest ECDSA (crypto/primitives.ts): Bitcoin Core's
 * libsecp256k1, natively where the `secp256k1` package's bundled prebuild loads, else the same library
 * compiled to WebAssembly (`tiny-secp256k1`), which runs anywhere Node does. Natively a signature costs
 * 0.4 and a verification 0.2 of the WebAssembly figures (BENCHMARKS.md), and a worker signs twice per
 * work order. Both give the same results; `TCF_SECP256K1=native|webassembly` pins one.
 */
import { createRequire } from 'node:module';
import { invert, mod } from '@noble/curves/abstract/modular.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';

export type Libsecp256k1Build = 'native' | 'webassembly';

export const CURVE_ORDER = secp256k1.Point.Fn.ORDER;

export interface Libsecp256k1 {
  build: Libsecp256k1Build;
  /**
   * Signs the digest with the first nonce that gives a valid signature, taking nonces from `nextNonce`
   * in order. Returns r, s in either of its two signs (libsecp256k1 natively gives the low one) and the
   * nonce used, from which the caller recovers the sign it wants.
   */
  sign(digest32: Uint8Array, privateKey: Uint8Array, nextNonce: () => bigint): { r: bigint; s: bigint; nonce: bigint };
  /** Verifies a 64-byte r‖s signature whose s is low; throws on a public key or signature it cannot parse. */
  verifyLowS(digest32: Uint8Array, publicKey: Uint8Array, signature64: Uint8Array): boolean;
}

/** The part of the `secp256k1` package's native binding used here. */
interface NativeBinding {
  ecdsaSign(
    message32: Uint8Array,
    privateKey: Uint8Array,
    options: { noncefn: () => Uint8Array },
  ): { signature: Uint8Array; recid: number };
  ecdsaVerify(signature64: Uint8Array, message32: Uint8Array, publicKey: Uint8Array): boolean;
}

const load = createRequire(import.meta.url);

function nativeBuild(): Libsecp256k1 {
  // The bindings entry, not the package's main: that one falls back to a JavaScript curve silently.
  const binding = load('secp256k1/bindings') as NativeBinding;
  return {
    build: 'native',
    sign(digest32, privateKey, nextNonce) {
      let nonce = 0n;
      const { signature } = binding.ecdsaSign(digest32, privateKey, {
        noncefn: () => {
          nonce = nextNonce();
          return numberToBytesBE(nonce, 32);
        },
      });
      return { r: bytesToNumberBE(signature.subarray(0, 32)), s: bytesToNumberBE(signature.subarray(32, 64)), nonce };
    },
    verifyLowS: (digest32, publicKey, signature64) => binding.ecdsaVerify(signature64, digest32, publicKey),
  };
}

function webAssemblyBuild(): Libsecp256k1 {
  const wasm = load('tiny-secp256k1') as typeof import('tiny-secp256k1');
  return {
    build: 'webassembly',
    // tiny-secp256k1 signs only with its own nonces, so the signature is put together here around
    // its base-point multiplication.
    sign(digest32, privateKey, nextNonce) {
      const z = bytesToNumberBE(digest32);
      const d = bytesToNumberBE(privateKey);
      for (;;) {
        const nonce = nextNonce();
        const point = wasm.pointFromScalar(numberToBytesBE(nonce, 32), false);
        if (!point) continue;
        const r = bytesToNumberBE(point.subarray(1, 33)) % CURVE_ORDER;
        if (r === 0n) continue;
        const s = mod(invert(nonce, CURVE_ORDER) * (z + r * d), CURVE_ORDER);
        if (s !== 0n) return { r, s, nonce };
      }
    },
    verifyLowS: (digest32, publicKey, signature64) => wasm.verify(digest32, publicKey, signature64, true),
  };
}

const BUILDS: Record<Libsecp256k1Build, () => Libsecp256k1> = { native: nativeBuild, webassembly: webAssemblyBuild };
const loaded = new Map<Libsecp256k1Build, Libsecp256k1>();

/** One build by name; throws if it cannot load here. */
export function libsecp256k1Build(build: Libsecp256k1Build): Libsecp256k1 {
  let curve = loaded.get(build);
  if (!curve) {
    curve = BUILDS[build]();
    loaded.set(build, curve);
  }
  return curve;
}

let chosen: Libsecp256k1 | undefined;

/**
 * The build this process uses, chosen on first use (loading either costs ~10 ms, which CLI commands
 * that never sign do not pay): `TCF_SECP256K1` if set, else native, else WebAssembly.
 */
export function libsecp256k1(): Libsecp256k1 {
  if (chosen) return chosen;
  const pinned = process.env.TCF_SECP256K1;
  if (pinned !== undefined && pinned !== '') {
    if (pinned !== 'native' && pinned !== 'webassembly') throw new Error(`TCF_SECP256K1 must be "native" or "webassembly", not "${pinned}"`);
    chosen = libsecp256k1Build(pinned);
    return chosen;
  }
  try {
    chosen = libsecp256k1Build('native');
  } catch {
    chosen = libsecp256k1Build('webassembly');
  }
  return chosen;
}
