/**
 * What the two hardware evidence sources (provider-gramine.ts, provider-tsm.ts) share with provider.ts,
 * which composes them: the shape of what a TEE interface gives back, and the one way both write a
 * pseudo-file. Kept apart so the sources need nothing from the module that imports them.
 */
import fs from 'node:fs';
import type { BoundIdentity } from './binding.js';
import type { HardwareEvidenceType } from './envelope.js';

/** What a TEE gave for one request, checked to bind the identity asked for, before collateral is attached. */
export interface HardwareEvidence {
  type: Extract<HardwareEvidenceType, 'sgx-dcap' | 'tdx' | 'sev-snp'>;
  /** The quote or report as the TEE produced it. */
  evidence: Buffer;
  /** SEV-SNP: PEM VCEK, then ASK and ARK. */
  certificates?: string;
}

/** A TEE interface (Gramine's /dev/attestation, configfs-tsm) as the hardware provider reads it. */
export interface HardwareEvidenceSource {
  readonly description: string;
  read(identity: BoundIdentity): Promise<HardwareEvidence>;
  close(): Promise<void>;
}

/**
 * One open, one write of all of `value`, one close, without truncating. Gramine and configfs both take
 * a pseudo-file's value when it is closed, so a refusal can come from close; configfs even drops the
 * driver's error there, which callers must detect another way (configfs-tsm: the generation count).
 */
export async function writePseudoFile(file: string, value: Buffer): Promise<void> {
  const handle = await fs.promises.open(file, fs.constants.O_WRONLY);
  try {
    const { bytesWritten } = await handle.write(value, 0, value.length, null);
    if (bytesWritten !== value.length) throw new Error(`wrote ${bytesWritten} of ${value.length} bytes`);
  } finally {
    await handle.close();
  }
}
