import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * shared/ (read-only) sits beside the project root, where the CI clone has it too; TCF_SHARED_DIR
 * names it for a checkout elsewhere (.ci/run sets it for a clone of a checkout that sits beside it).
 */
export const SHARED_DIR = process.env.TCF_SHARED_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared');

export interface AvalonVectors {
  keys: {
    workerRsaPrivatePem: string;
    workerRsaPublicPem: string;
    workerRsaBits: number;
    workerSigningPrivatePem: string;
    workerVerifyingPem: string;
    requesterSigningPrivatePem: string;
    requesterVerifyingPem: string;
  };
  requestHash: { params: Record<string, unknown> & { inData: never[]; outData?: never[] }; sha256Hex: string }[];
  responseHash: { result: Record<string, unknown> & { outData: never[]; workerSignature: string }; sha256Hex: string; verifiesWithWorkerKey: boolean }[];
  signatures: { messageUtf8: string; digestHex: string; requesterSignatureB64: string; workerSignatureB64: string }[];
  sessionKeys: { sessionKeyHex: string; encryptedSessionKeyHex: string; ivHex: string }[];
  aesGcm: { keyHex: string; ivHex: string; plaintextHex: string; withGivenIv_ciphertextTagHex: string; withGeneratedIv_ivCiphertextTagHex: string }[];
  encryptionKeySignature: { encryptionKeyPem: string; signatureHex: string }[];
}

export function loadAvalonVectors(): AvalonVectors {
  const file = path.join(SHARED_DIR, 'interop/avalon-crypto-vectors.json');
  if (!fs.existsSync(file)) throw new Error(`the Avalon interop vectors are not at ${file}: put shared/ beside the project or set TCF_SHARED_DIR`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as AvalonVectors;
}
