import fs from 'node:fs';
import path from 'node:path';
import { SHARED_DIR } from './vectors.js';

/** shared/attestation-samples: real public TEE evidence, each with the time to verify it at (its README). */
export const SAMPLES_DIR = path.join(SHARED_DIR, 'attestation-samples');

export function readSample(relativePath: string): Buffer {
  return fs.readFileSync(path.join(SAMPLES_DIR, relativePath));
}

/** Today: by now every sample's chain or collateral has expired, except SEV-SNP's (AMD certificates run to 2029-2030). */
export const TODAY = new Date();

/** A copy of `bytes` with the byte at `position` changed (never to its own value). */
export function flipByte(bytes: Buffer, position: number, xor = 0x01): Buffer {
  const copy = Buffer.from(bytes);
  copy[position] = (copy[position] as number) ^ (xor === 0 ? 1 : xor);
  return copy;
}
