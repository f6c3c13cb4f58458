/**
 * echo-result, Avalon's smallest workload: each input comes back, under its own index, prefixed
 * with "RESULT: ". The bytes after the prefix are the input's, unchanged (NULs included, as in
 * Avalon's std::string concatenation).
 */
import { fileURLToPath } from 'node:url';
import type { WorkOrderInput, WorkOrderOutput } from '../workorder/worker.js';
import { inIndexOrder } from './avalon-text.js';
import type { Workload } from './workload.js';

const PREFIX = Buffer.from('RESULT: ');

export class EchoResult implements Workload {
  readonly name = 'echo-result';
  readonly description = 'Returns each input, prefixed with "RESULT: ", under the same index';
  readonly sourceFile = fileURLToPath(import.meta.url);

  async process(inputs: readonly WorkOrderInput[]): Promise<WorkOrderOutput[]> {
    return inIndexOrder(inputs).map((input) => ({ index: input.index, data: Buffer.concat([PREFIX, input.data]) }));
  }
}
