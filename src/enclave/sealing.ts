/**
 * Sealing for the simulated TEE: a worker's private keys rest on disk encrypted under a key derived
 * from a platform secret and the worker's code measurement, so only the same code on the same
 * platform unseals them (the shape of SGX's MRENCLAVE sealing policy). In simulation the "platform
 * secret" is a file on the host: it survives restarts, and it protects nothing from the host itself.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { aesGcmOpen, aesGcmSeal, CryptoError, randomBytes } from '../crypto/primitives.js';

const SEALING_INFO = 'tcf simulated-tee sealing key v1';

/** The simulated platform's root secret: created once per data directory, readable by its owner only. */
export function loadPlatformSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, 'simulated-tee', 'platform-secret');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, randomBytes(32), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const secret = fs.readFileSync(file);
  if (secret.length !== 32) throw new CryptoError(`${file}: corrupt platform secret`);
  return secret;
}

export function sealingKey(platformSecret: Uint8Array, measurement: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', platformSecret, Buffer.from(measurement, 'hex'), SEALING_INFO, 32));
}

/** Writes atomically (temp file + rename) so a crash never leaves half a sealed file. */
export function writeSealed(file: string, key: Uint8Array, plaintext: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, aesGcmSeal(key, plaintext), { mode: 0o600 });
  fs.renameSync(temp, file);
}

/**
 * Creates the sealed file only if it does not exist yet (hard link from a temp file: atomic and
 * exclusive). False when another process sealed first; the caller then unseals what that one wrote, so
 * every process of a worker ends up with the same keys.
 */
export function createSealed(file: string, key: Uint8Array, plaintext: Uint8Array): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temp, aesGcmSeal(key, plaintext), { mode: 0o600 });
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.unlinkSync(temp);
  }
}

export function readSealed(file: string, key: Uint8Array): Buffer | undefined {
  let sealed: Buffer;
  try {
    sealed = fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return aesGcmOpen(key, sealed);
  } catch {
    throw new CryptoError(`${file}: cannot be unsealed (different worker code or platform)`);
  }
}

const SOURCE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The folders whose code runs inside the worker and therefore defines its identity; the workloads' files come from their registry. */
const MEASURED_FOLDERS = ['crypto', 'protocol', 'workorder', 'enclave', 'attestation'];

/**
 * SHA-256 over the path and content of every source file the worker runs — its own folders and the
 * files behind its registered workloads (WorkloadRegistry.measurementInputs) — the simulated MRENCLAVE.
 */
export function measureWorkerCode(workloadFiles: readonly string[]): string {
  const hash = crypto.createHash('sha256');
  for (const file of [...workloadFiles].sort()) hash.update(`workload ${path.basename(file)}\n`).update(fs.readFileSync(file));
  for (const folder of MEASURED_FOLDERS) {
    const dir = path.join(SOURCE_ROOT, folder);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir, { recursive: true }).map(String).sort()) {
      const file = path.join(dir, name);
      if (!fs.statSync(file).isFile() || name.endsWith('.map')) continue;
      hash.update(`${folder}/${name}\n`).update(fs.readFileSync(file));
    }
  }
  return hash.digest('hex');
}
