/**
 * The workloads a worker runs, looked up by the workloadId of a work order. On the wire that id is
 * the hex of the workload's UTF-8 name (`6563686f2d726573756c74` is echo-result); the plain name is
 * accepted too. An unknown id is the spec's INVALID_WORKLOAD (9), as in Avalon, with a message that
 * says what was asked for and what this worker offers.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hexToText, isHex } from '../crypto/encoding.js';
import { ErrorCode, TcfError } from '../protocol/errors.js';
import type { WorkOrderInput, WorkOrderOutput } from '../workorder/worker.js';
import { EchoResult } from './echo.js';
import { NO_EXTERNAL_IO, type ExternalIo } from './external-io.js';
import { HeartDiseaseEval } from './heart-disease-eval.js';
import { InsideOutEval } from './inside-out-eval.js';
import type { Workload } from './workload.js';

const HERE = fileURLToPath(import.meta.url);
/** The folder's shared modules: every workload runs through them, so they are measured too. */
const SHARED_SOURCES = ['registry', 'workload', 'external-io', 'avalon-text'].map((name) =>
  path.join(path.dirname(HERE), `${name}${path.extname(HERE)}`),
);
const MAX_SHOWN_ID = 128;

export class WorkloadRegistry {
  readonly #byName = new Map<string, Workload>();

  /** `io` is what run() hands workloads; callers of process() may hand their own. */
  constructor(readonly io: ExternalIo = NO_EXTERNAL_IO) {}

  register(workload: Workload): this {
    const { name } = workload;
    if (name.length === 0 || /[\s\p{C}]/u.test(name)) throw new Error(`workload name ${JSON.stringify(name)} must be non-empty printable text without spaces`);
    // A name made of hex digits would read as a different name once hex-decoded as a wire id.
    if (isHex(name)) throw new Error(`workload name "${name}" must not be a hex string: it would be ambiguous with wire ids`);
    if (this.#byName.has(name)) throw new Error(`workload "${name}" is already registered`);
    this.#byName.set(name, workload);
    return this;
  }

  /** The workload a wire id (hex of the name) or a plain name stands for. */
  resolve(workloadId: string): Workload {
    const decoded = hexToText(workloadId);
    const found = (decoded === undefined ? undefined : this.#byName.get(decoded)) ?? this.#byName.get(workloadId);
    if (found !== undefined) return found;
    const shown = decoded !== undefined && decoded.length > 0 && !/\p{C}/u.test(decoded) ? decoded : workloadId;
    const clipped = shown.length > MAX_SHOWN_ID ? `${shown.slice(0, MAX_SHOWN_ID)}…` : shown;
    const offered = this.list();
    throw new TcfError(
      ErrorCode.INVALID_WORKLOAD,
      `params.workloadId: unknown workload ${JSON.stringify(clipped)}; this worker runs: ${offered.length > 0 ? offered.join(', ') : 'no workloads'}`,
    );
  }

  /** Resolves and runs in one step, with this registry's I/O plug-in. */
  run(workloadId: string, inputs: readonly WorkOrderInput[]): Promise<WorkOrderOutput[]> {
    return this.resolve(workloadId).process(inputs, { io: this.io });
  }

  /** Names in registration order. */
  list(): string[] {
    return [...this.#byName.keys()];
  }

  /** Absolute paths of the code behind the registered workloads, sorted, for the simulated TEE's measurement. */
  measurementInputs(): string[] {
    const files = new Set([...SHARED_SOURCES, ...[...this.#byName.values()].map((workload) => workload.sourceFile)]);
    return [...files].sort();
  }
}

/** Avalon's three example workloads. Each call makes fresh instances, so heart-disease-eval's statistics are per registry. */
export function defaultWorkloads(io: ExternalIo): WorkloadRegistry {
  return new WorkloadRegistry(io).register(new EchoResult()).register(new HeartDiseaseEval()).register(new InsideOutEval());
}
