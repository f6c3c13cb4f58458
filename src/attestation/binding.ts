/**
 * The binding between a worker's identity and its TEE evidence: the 64 report-data bytes a worker asks
 * its TEE to sign. A verified quote says "this code ran on genuine hardware and asked for these bytes";
 * only this recipe turns that into "this code holds the private halves of these keys, for this worker".
 * Without the workerId in it, a host could take one genuine worker's evidence and keys and announce
 * them under another worker's id; without the encryption key, a host could pair genuine evidence with
 * an encryption key of its own.
 *
 * reportData = SHA-256(domain ‖ field(workerId) ‖ field(verificationKeyPem) ‖ field(encryptionKeyPem) ‖ field(issuedAt))
 *              ‖ 32 zero bytes
 * where field(x) is the 4-byte big-endian length of x's UTF-8 bytes followed by those bytes, the workerId
 * is in lowercase hex, and issuedAt is the ISO 8601 UTC time the worker made the evidence. Every TEE gives
 * at least 64 bytes of report data (Nitro's user_data carries the same 64 bytes).
 */
import { sha256 } from '../crypto/primitives.js';

export const BINDING_DOMAIN = 'tcf-worker-binding/v1';
export const REPORT_DATA_LENGTH = 64;

/** What a worker's evidence binds: who it is, the keys it holds, and when it said so. */
export interface BoundIdentity {
  workerId: string;
  verificationKeyPem: string;
  encryptionKeyPem: string;
  /** ISO 8601 UTC, as `Date.prototype.toISOString` writes it. */
  issuedAt: string;
}

function field(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The 64 report-data bytes that bind `identity`. */
export function bindingReportData(identity: BoundIdentity): Buffer {
  const digest = sha256(
    Buffer.from(BINDING_DOMAIN, 'utf8'),
    field(identity.workerId.toLowerCase()),
    field(identity.verificationKeyPem),
    field(identity.encryptionKeyPem),
    field(identity.issuedAt),
  );
  return Buffer.concat([digest, Buffer.alloc(REPORT_DATA_LENGTH - digest.length)]);
}

/** Why `reportDataHex` (a verdict's report data) does not bind `identity`, or undefined when it does. */
export function bindingMismatch(reportDataHex: string, identity: BoundIdentity): string | undefined {
  const expected = bindingReportData(identity).toString('hex');
  if (reportDataHex.toLowerCase() === expected) return undefined;
  return (
    `the evidence's report data ${reportDataHex.slice(0, 16) || '(none)'}… does not bind worker ${identity.workerId.slice(0, 16)}…, ` +
    `its verification and encryption keys and issuedAt ${identity.issuedAt} (expected ${expected.slice(0, 16)}…)`
  );
}
