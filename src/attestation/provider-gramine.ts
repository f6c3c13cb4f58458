/**
 * Evidence from inside a Gramine-SGX enclave, through Gramine's /dev/attestation pseudo-filesystem
 * (Gramine documentation, "Attestation and Secret Provisioning", the low-level /dev/attestation
 * interface): `attestation_type` names the scheme the manifest enabled ('none', 'epid' or 'dcap'),
 * writing the 64 report-data bytes to `user_report_data` sets what the next quote carries, and reading
 * `quote` returns the SGX quote over them.
 *
 * Only DCAP is accepted, checked when the provider is made so a misconfigured enclave stops at start:
 * EPID quotes can only be judged by Intel's Attestation Service, which has reached end of life.
 * Gramine keeps these pseudo-files per process, so only this process can change the report data between
 * the write and the read: requests are serialised here, and a quote is published only after it is read
 * back as a DCAP SGX quote whose report data is the binding. Anything else in the process that writes
 * user_report_data in between makes the quote bind something else; that is retried, then refused.
 *
 * UNTESTED ON HARDWARE: exercised only against a directory of regular files shaped like /dev/attestation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bindingReportData, type BoundIdentity } from './binding.js';
import { parseDcapQuote } from './dcap.js';
import { writePseudoFile, type HardwareEvidence, type HardwareEvidenceSource } from './evidence-source.js';

/** Quotes read back with another report data before the provider gives up. */
export const GRAMINE_QUOTE_ATTEMPTS = 3;

export class GramineEvidenceSource implements HardwareEvidenceSource {
  readonly description = 'gramine-sgx';
  /** The request in flight; the next one starts when it settles, so this process never interleaves two. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly directory: string) {
    const scheme = readAttestationType(directory);
    if (scheme === 'epid') {
      throw new Error(
        `Gramine's attestation type is "epid": EPID quotes are judged only by Intel's Attestation Service (IAS), which has reached end of life. ` +
          `Set sgx.remote_attestation = "dcap" in the Gramine manifest`,
      );
    }
    if (scheme !== 'dcap') {
      throw new Error(
        `Gramine's attestation type is "${scheme}", not "dcap": the enclave cannot produce quotes. Set sgx.remote_attestation = "dcap" in the Gramine manifest`,
      );
    }
  }

  read(identity: BoundIdentity): Promise<HardwareEvidence> {
    const request = this.queue.then(() => this.quoteBinding(identity));
    this.queue = request.catch(() => undefined);
    return request;
  }

  async close(): Promise<void> {
    await this.queue;
  }

  private async quoteBinding(identity: BoundIdentity): Promise<HardwareEvidence> {
    const reportData = bindingReportData(identity);
    let seen = '';
    for (let attempt = 1; attempt <= GRAMINE_QUOTE_ATTEMPTS; attempt += 1) {
      await writeReportData(path.join(this.directory, 'user_report_data'), reportData);
      const quote = await readPseudoFile(path.join(this.directory, 'quote'));
      const quoted = sgxReportData(quote);
      if (quoted.equals(reportData)) return { type: 'sgx-dcap', evidence: quote };
      seen = quoted.toString('hex');
    }
    throw new Error(
      `Gramine's quote carried report data ${seen.slice(0, 16)}…, not this worker's binding ${reportData.toString('hex').slice(0, 16)}…, ` +
        `in each of ${GRAMINE_QUOTE_ATTEMPTS} attempts: something else in this process writes ${path.join(this.directory, 'user_report_data')}`,
    );
  }
}

function readAttestationType(directory: string): string {
  const file = path.join(directory, 'attestation_type');
  try {
    // Gramine's pseudo-file holds the bare name; trailing NULs or a newline are not part of it.
    return fs.readFileSync(file, 'latin1').replace(/[\0\s]+$/, '');
  } catch (error) {
    throw new Error(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): is this worker running inside Gramine-SGX?`);
  }
}

async function writeReportData(file: string, reportData: Buffer): Promise<void> {
  try {
    await writePseudoFile(file, reportData);
  } catch (error) {
    throw new Error(`cannot write the report data to ${file}: ${(error as Error).message}`);
  }
}

async function readPseudoFile(file: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** The report data of a DCAP SGX quote; anything else is refused, never published. */
function sgxReportData(quote: Buffer): Buffer {
  let parsed;
  try {
    parsed = parseDcapQuote(quote);
  } catch (error) {
    throw new Error(`Gramine's quote is not an Intel DCAP quote: ${(error as Error).message}`);
  }
  if (parsed.body.tee !== 'sgx') throw new Error(`Gramine's quote is a ${parsed.body.tee.toUpperCase()} quote, not an SGX enclave quote`);
  return parsed.body.report.reportData;
}
