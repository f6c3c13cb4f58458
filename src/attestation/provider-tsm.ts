/**
 * Evidence from inside a TDX or SEV-SNP confidential VM, through Linux's configfs-tsm report interface
 * (Documentation/ABI/testing/configfs-tsm, Linux 6.7 on; drivers/virt/coco/guest/report.c). An entry is a
 * directory made with mkdir under /sys/kernel/config/tsm/report; in it `provider` names the report format
 * ('tdx_guest': an Intel DCAP TDX quote; 'sev_guest': an AMD SEV-SNP ATTESTATION_REPORT), `inblob` takes
 * the report data (both drivers require exactly 64 bytes), `outblob` returns the quote or report over it,
 * `auxblob` (SEV-SNP) the GHCB certificate table the host supplied, possibly nothing, and `generation`
 * counts the writes to the entry.
 *
 * Each worker uses its own entry, `tcf-` and the first 16 hex digits of its workerId, so a test or an
 * operator can make it beforehand (an existing entry is used; only entries this provider made are removed
 * on close). Requests on one entry are serialised in this process; another process writing the same entry
 * between our write and our read is caught by the kernel's own count: generation, read before the write
 * and after the read, must have moved by exactly our one write, else the request is retried after a random
 * wait and, after TSM_REPORT_ATTEMPTS, refused. The report is published only if it carries the binding.
 *
 * SEV-SNP evidence is published with its certificates (VCEK first), since a requester cannot judge a
 * report without the VCEK: from the auxblob when the host supplies them, else from certificatesFile,
 * else the request fails. provider.ts attaches the DCAP collateral TDX quotes need.
 * A guest running above VMPL 0 (under an SVSM) announces its level in `privlevel_floor`; that level is
 * written to `privlevel` so the firmware is asked for a report it can give.
 *
 * UNTESTED ON HARDWARE: exercised only against directories shaped like configfs-tsm, whose inblob and
 * outblob are FIFOs served by a test process (test/helpers/stand-in-tee.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bindingReportData, REPORT_DATA_LENGTH, type BoundIdentity } from './binding.js';
import { parseDcapQuote } from './dcap.js';
import { writePseudoFile, type HardwareEvidence, type HardwareEvidenceSource } from './evidence-source.js';
import { parseSnpCertificateTable } from './sev-snp.js';

/** Requests spoiled by a concurrent writer before the provider gives up. */
export const TSM_REPORT_ATTEMPTS = 4;
/** The random wait before a retry, times the number of attempts spoiled so far. */
const RETRY_WAIT_MS = { min: 10, max: 100 } as const;
const TSM_ENTRY_PREFIX = 'tcf-';
const ENTRY_ID_LENGTH = 16;

/** REPORT_DATA in the SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI specification 56860): 64 bytes at 0x50. */
const SNP_REPORT_DATA_OFFSET = 0x50;

type KernelProvider = 'tdx_guest' | 'sev_guest';

/** The configfs-tsm entry a worker uses: deterministic, so it can be made before the worker starts. */
export function tsmEntryName(workerId: string): string {
  const id = workerId.toLowerCase().replace(/^0x/, '').slice(0, ENTRY_ID_LENGTH);
  if (!/^[0-9a-f]+$/.test(id)) throw new Error(`workerId ${JSON.stringify(workerId)} is not hex: no configfs-tsm entry can be named after it`);
  return `${TSM_ENTRY_PREFIX}${id}`;
}

/** What one request read from the entry, before it is checked. */
interface TsmReading {
  outblob: Buffer;
  auxblob: Buffer;
}

export class ConfigfsTsmEvidenceSource implements HardwareEvidenceSource {
  private kernelProvider: KernelProvider | undefined;
  /** Per entry, the request in flight; the next one on that entry starts when it settles. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly madeEntries = new Set<string>();

  constructor(
    private readonly reportDirectory: string,
    private readonly certificatesFromFile: string | undefined,
  ) {
    let isDirectory = false;
    try {
      isDirectory = fs.statSync(reportDirectory).isDirectory();
    } catch {
      // Reported below with what it most likely means.
    }
    if (!isDirectory) {
      throw new Error(
        `configfs-tsm: ${reportDirectory} is not a directory: this is not a TDX or SEV-SNP guest, its kernel is older than 6.7 (no configfs-tsm), ` +
          `or configfs is not mounted at /sys/kernel/config`,
      );
    }
  }

  get description(): string {
    return this.kernelProvider ? `configfs-tsm (${this.kernelProvider})` : 'configfs-tsm';
  }

  read(identity: BoundIdentity): Promise<HardwareEvidence> {
    const entry = tsmEntryName(identity.workerId);
    const request = (this.queues.get(entry) ?? Promise.resolve()).then(() => this.report(entry, identity));
    this.queues.set(entry, request.catch(() => undefined));
    return request;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.values());
    for (const entry of this.madeEntries) {
      try {
        await fs.promises.rmdir(entry);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`configfs-tsm: cannot remove the report entry ${entry}: ${(error as Error).message}`);
      }
      this.madeEntries.delete(entry);
    }
  }

  private async report(entryName: string, identity: BoundIdentity): Promise<HardwareEvidence> {
    const entry = await this.openEntry(entryName);
    const kernelProvider = await readKernelProvider(entry);
    this.kernelProvider = kernelProvider;
    const reportData = bindingReportData(identity);
    const reading = await readConsistently(entry, reportData, kernelProvider);
    if (kernelProvider === 'tdx_guest') {
      assertBinds(tdxReportData(reading.outblob), reportData, 'TDX quote');
      return { type: 'tdx', evidence: reading.outblob };
    }
    assertBinds(snpReportData(reading.outblob), reportData, 'SEV-SNP report');
    return { type: 'sev-snp', evidence: reading.outblob, certificates: this.snpCertificates(reading.auxblob, entry) };
  }

  /** The entry's directory, made if missing; an existing one (made beforehand, or left by an earlier run) is used. */
  private async openEntry(entryName: string): Promise<string> {
    const entry = path.join(this.reportDirectory, entryName);
    try {
      await fs.promises.mkdir(entry);
      this.madeEntries.add(entry);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`configfs-tsm: cannot make the report entry ${entry}: ${(error as Error).message}`);
      }
    }
    return entry;
  }

  private snpCertificates(auxblob: Buffer, entry: string): string {
    if (auxblob.length > 0) {
      let certificates;
      try {
        certificates = parseSnpCertificateTable(auxblob);
      } catch (error) {
        throw new Error(`configfs-tsm: ${path.join(entry, 'auxblob')} is not a usable certificate table: ${(error as Error).message}`);
      }
      return certificates.map((certificate) => certificate.toString()).join('');
    }
    if (this.certificatesFromFile !== undefined) return this.certificatesFromFile;
    throw new Error(
      `configfs-tsm: the host supplied no SEV-SNP certificates (${path.join(entry, 'auxblob')} is empty) and enclave.attestation.certificatesFile is not set: ` +
        `a requester cannot judge a report without its VCEK. Fetch this chip's VCEK, ASK and ARK from AMD's KDS and name the PEM file in certificatesFile`,
    );
  }
}

async function readKernelProvider(entry: string): Promise<KernelProvider> {
  const file = path.join(entry, 'provider');
  let name: string;
  try {
    name = (await fs.promises.readFile(file, 'latin1')).trim();
  } catch (error) {
    throw new Error(`configfs-tsm: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): no TSM driver is registered in this guest`);
  }
  if (name !== 'tdx_guest' && name !== 'sev_guest') {
    throw new Error(`configfs-tsm: ${file} names "${name}"; TCF reads tdx_guest (Intel TDX) and sev_guest (AMD SEV-SNP) reports only`);
  }
  return name;
}

/** Asks for reports at the guest's own VMPL when it runs above 0; the floor is absent where the format has no levels (TDX). */
async function requestOwnPrivilegeLevel(entry: string): Promise<void> {
  let floor: string;
  try {
    floor = (await fs.promises.readFile(path.join(entry, 'privlevel_floor'), 'latin1')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`configfs-tsm: cannot read ${path.join(entry, 'privlevel_floor')}: ${(error as Error).message}`);
  }
  if (!/^\d+$/.test(floor)) throw new Error(`configfs-tsm: ${path.join(entry, 'privlevel_floor')} holds ${JSON.stringify(floor)}, not a number`);
  if (floor === '0') return;
  await writeAttribute(path.join(entry, 'privlevel'), Buffer.from(floor, 'latin1'));
}

/**
 * Writes the report data and reads the report, retried while another writer moves the entry's generation
 * in between: the kernel counts every write, so exactly one more after our read means the report is ours.
 * Workers with several processes share their entry and start together, so retries wait a random while,
 * longer each time, lest the same processes collide again in step.
 */
async function readConsistently(entry: string, reportData: Buffer, kernelProvider: KernelProvider): Promise<TsmReading> {
  const spoiled: string[] = [];
  for (let attempt = 1; attempt <= TSM_REPORT_ATTEMPTS; attempt += 1) {
    if (attempt > 1) await sleep(crypto.randomInt(RETRY_WAIT_MS.min, RETRY_WAIT_MS.max) * (attempt - 1));
    await requestOwnPrivilegeLevel(entry);
    const before = await readGeneration(entry);
    await writeAttribute(path.join(entry, 'inblob'), reportData);
    const outblob = await readAttribute(path.join(entry, 'outblob'));
    const auxblob = kernelProvider === 'sev_guest' ? await readOptionalAttribute(path.join(entry, 'auxblob')) : Buffer.alloc(0);
    const after = await readGeneration(entry);
    if (after === before) spoiled.push(`generation ${before} unmoved: the write was not taken`);
    else if (after !== before + 1n) spoiled.push(`generation ${before} → ${after}`);
    else if (outblob.length === 0) spoiled.push('empty outblob');
    else return { outblob, auxblob };
  }
  throw new Error(
    `configfs-tsm: no report of ${entry} was ours in ${TSM_REPORT_ATTEMPTS} attempts (${spoiled.join('; ')}): ` +
      `our write moves generation by exactly 1, so more means another writer changed the entry between our write and our read`,
  );
}

async function readGeneration(entry: string): Promise<bigint> {
  const file = path.join(entry, 'generation');
  const text = (await readAttribute(file)).toString('latin1').trim();
  if (!/^\d+$/.test(text)) throw new Error(`configfs-tsm: ${file} holds ${JSON.stringify(text)}, not a number`);
  return BigInt(text);
}

/** A refused inblob write shows only as a generation that did not move (evidence-source.ts says why). */
async function writeAttribute(file: string, value: Buffer): Promise<void> {
  try {
    await writePseudoFile(file, value);
  } catch (error) {
    throw new Error(`configfs-tsm: cannot write ${file}: ${(error as Error).message}`);
  }
}

async function readAttribute(file: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (error) {
    throw new Error(`configfs-tsm: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** An attribute the driver may not offer: missing reads as empty. */
async function readOptionalAttribute(file: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw new Error(`configfs-tsm: cannot read ${file}: ${(error as Error).message}`);
  }
}

function tdxReportData(quote: Buffer): Buffer {
  let parsed;
  try {
    parsed = parseDcapQuote(quote);
  } catch (error) {
    throw new Error(`configfs-tsm: the tdx_guest outblob is not an Intel DCAP quote: ${(error as Error).message}`);
  }
  if (parsed.body.tee !== 'tdx') throw new Error('configfs-tsm: the tdx_guest outblob is an SGX quote, not a TDX one');
  return parsed.body.report.reportData;
}

function snpReportData(report: Buffer): Buffer {
  if (report.length < SNP_REPORT_DATA_OFFSET + REPORT_DATA_LENGTH) {
    throw new Error(`configfs-tsm: the sev_guest outblob is ${report.length} bytes, too short for an SEV-SNP attestation report`);
  }
  return report.subarray(SNP_REPORT_DATA_OFFSET, SNP_REPORT_DATA_OFFSET + REPORT_DATA_LENGTH);
}

/** The generation check rules out a concurrent writer, so a report over other data is a fault, not a race: refused at once. */
function assertBinds(quoted: Buffer, reportData: Buffer, what: string): void {
  if (!quoted.equals(reportData)) {
    throw new Error(
      `configfs-tsm: the ${what} carries report data ${quoted.toString('hex').slice(0, 16)}…, not this worker's binding ${reportData.toString('hex').slice(0, 16)}…: ` +
        `the driver did not report over what was written to inblob`,
    );
  }
}
