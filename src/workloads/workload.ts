/**
 * The contract between a worker and the workloads it runs. A workload sees only decrypted inputs
 * and, through its context, the inside-out I/O plug-in: no keys, no request, no store, so what it
 * can touch is exactly what the worker chose to hand it.
 */
import type { WorkOrderInput, WorkOrderOutput } from '../workorder/worker.js';
import type { ExternalIo } from './external-io.js';

export interface WorkloadContext {
  /** Data the TCS hosts outside the worker (Avalon's "inside-out" I/O). */
  readonly io: ExternalIo;
}

export interface Workload {
  /** The name requesters ask for; on the wire it travels as the hex of its UTF-8 bytes. */
  readonly name: string;
  /** One line for operators and worker listings. */
  readonly description: string;
  /** Absolute path of the module that implements it, so the simulated TEE can measure it. */
  readonly sourceFile: string;
  process(inputs: readonly WorkOrderInput[], context: WorkloadContext): Promise<WorkOrderOutput[]>;
}
