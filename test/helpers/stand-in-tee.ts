/**
 * Directories that behave like the TEE interfaces the evidence providers read, for tests on machines
 * without a TEE: Gramine's /dev/attestation as regular files, and a Linux configfs-tsm report entry whose
 * `inblob` and `outblob` are FIFOs served by a loop in the test process. Like the kernel, it counts each
 * 64-byte write to inblob in `generation` and answers a read of outblob with a report over the last data
 * written. FIFOs work across processes, so worker processes started by a test are served too; the loop
 * waits for readers through fs.promises (libuv's thread pool), never blocking the event loop.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tsmEntryName } from '../../src/attestation/provider-tsm.ts';

const REPORT_DATA_LENGTH = 64;

export interface GramineStandIn {
  dir: string;
  /** What the provider last wrote to user_report_data. */
  userReportData(): Buffer;
}

/** /dev/attestation as regular files: `quote` is fixed, so it carries its own report data, never the one written. */
export function gramineStandIn(dir: string, quote: Buffer, attestationType: 'dcap' | 'epid' | 'none' = 'dcap'): GramineStandIn {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'attestation_type'), attestationType);
  fs.writeFileSync(path.join(dir, 'user_report_data'), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, 'quote'), quote);
  return { dir, userReportData: () => fs.readFileSync(path.join(dir, 'user_report_data')) };
}

/** What the SEV-SNP stand-in needs of a platform: test/helpers/synthetic-snp.ts's syntheticSnpPlatform() gives it. */
export interface SnpReportSource {
  certificateTable(): Buffer;
  report(reportData: Buffer): Buffer;
}

export interface TsmStandInOptions {
  /** The worker whose entry (tsmEntryName) is made, as its provider will look for it. */
  workerId: string;
  /** How far generation moves per write: 2 plays a second writer slipping in each time, 0 a write the kernel did not take. */
  generationStep?: number;
  /** SEV-SNP: leave auxblob empty, as a host that supplies no certificates does. */
  emptyAuxblob?: boolean;
  /** SEV-SNP: a guest running at this VMPL announces it in privlevel_floor. */
  privlevelFloor?: number;
}

export interface TsmStandIn {
  entryDir: string;
  /** Every report data written to inblob, in order. */
  readonly inblobs: Buffer[];
  close(): Promise<void>;
}

/** A configfs-tsm entry of an SEV-SNP guest: reports made by `platform` over whatever is written. */
export function configfsTsmStandIn(tsmDir: string, platform: SnpReportSource, options: TsmStandInOptions): TsmStandIn {
  const entryDir = makeEntry(tsmDir, 'sev_guest', options);
  fs.writeFileSync(path.join(entryDir, 'auxblob'), options.emptyAuxblob ? Buffer.alloc(0) : platform.certificateTable());
  if (options.privlevelFloor !== undefined) {
    fs.writeFileSync(path.join(entryDir, 'privlevel_floor'), `${options.privlevelFloor}\n`);
    fs.writeFileSync(path.join(entryDir, 'privlevel'), Buffer.alloc(0));
  }
  return serve(entryDir, (reportData) => platform.report(reportData), options.generationStep ?? 1);
}

/**
 * A configfs-tsm entry of a TDX guest that answers every request with the same real quote. Only Intel's
 * quoting enclave can sign a TDX quote, so its report data is never the one written: a provider must refuse it.
 */
export function configfsTsmTdxStandIn(tsmDir: string, quote: Buffer, options: TsmStandInOptions): TsmStandIn {
  return serve(makeEntry(tsmDir, 'tdx_guest', options), () => quote, options.generationStep ?? 1);
}

function makeEntry(tsmDir: string, kernelProvider: string, options: TsmStandInOptions): string {
  const entryDir = path.join(tsmDir, tsmEntryName(options.workerId));
  fs.mkdirSync(entryDir, { recursive: true });
  fs.writeFileSync(path.join(entryDir, 'provider'), `${kernelProvider}\n`);
  fs.writeFileSync(path.join(entryDir, 'generation'), '0\n');
  execFileSync('mkfifo', [path.join(entryDir, 'inblob'), path.join(entryDir, 'outblob')]);
  return entryDir;
}

/**
 * Serves the entry the way the kernel answers: every read of outblob gets the report over the last data
 * written to inblob, and generation has counted every write by then. inblob is held open for reading and
 * writing so writers never wait and its data can be drained without blocking; when a reader opens outblob,
 * the writes already in the pipe (a provider closes inblob before it opens outblob) are counted and the
 * report is made over the last of them. A FIFO cannot tell its readers apart, so after each answer the
 * loop waits for that reader to leave before it offers outblob again (else the reader would get the
 * report twice); a reader that arrives meanwhile with new data written is a new request, and is answered.
 */
function serve(entryDir: string, answer: (reportData: Buffer) => Buffer, generationStep: number): TsmStandIn {
  const outblob = path.join(entryDir, 'outblob');
  const inblob = fs.openSync(path.join(entryDir, 'inblob'), fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const inblobs: Buffer[] = [];
  let generation = 0;
  let report: Buffer = Buffer.alloc(0);
  let stopped = false;

  /** Counts the writes waiting in inblob and makes the report over the last; false when there were none. */
  const drainInblob = (): boolean => {
    const chunks: Buffer[] = [];
    const chunk = Buffer.alloc(4096);
    for (;;) {
      let length: number;
      try {
        length = fs.readSync(inblob, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw error;
      }
      if (length === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, length)));
    }
    const written = Buffer.concat(chunks);
    if (written.length === 0) return false;
    if (written.length % REPORT_DATA_LENGTH !== 0) throw new Error(`stand-in: ${written.length} bytes written to inblob, not whole ${REPORT_DATA_LENGTH}-byte writes`);
    const reportData = written.subarray(written.length - REPORT_DATA_LENGTH);
    inblobs.push(Buffer.from(reportData));
    generation += generationStep * (written.length / REPORT_DATA_LENGTH);
    fs.writeFileSync(path.join(entryDir, 'generation'), `${generation}\n`);
    report = answer(reportData);
    return true;
  };

  /** Until the last reader has closed outblob (opening it to write then fails with ENXIO). */
  const awaitReaderGone = async (): Promise<void> => {
    while (!stopped) {
      let reader: number;
      try {
        reader = fs.openSync(outblob, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENXIO') return;
        throw error;
      }
      try {
        if (drainInblob()) fs.writeSync(reader, report);
      } finally {
        fs.closeSync(reader);
      }
      await sleep(1);
    }
  };

  const loop = (async () => {
    while (!stopped) {
      // Waits in libuv's thread pool until a reader opens outblob.
      const handle = await fs.promises.open(outblob, fs.constants.O_WRONLY);
      try {
        if (stopped) return;
        drainInblob();
        await handle.write(report);
      } catch (error) {
        if (!stopped && (error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      } finally {
        await handle.close();
      }
      await awaitReaderGone();
    }
  })();
  let finished = false;
  const settled = loop.finally(() => {
    finished = true;
  });

  return {
    entryDir,
    inblobs,
    async close() {
      stopped = true;
      // The loop waits in open() for a reader of outblob: become one, without blocking, until it notices.
      while (!finished) {
        await touchReader(outblob);
        await Promise.race([settled.catch(() => undefined), sleep(10)]);
      }
      fs.closeSync(inblob);
      await settled;
    },
  };
}

async function touchReader(fifo: string): Promise<void> {
  const handle = await fs.promises.open(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  await handle.close();
}
