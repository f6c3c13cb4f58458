/** Small builders shared by the workload tests. */
import type { WorkOrderInput, WorkOrderOutput } from '../../src/workorder/worker.js';

export function input(index: number, text: string | Buffer): WorkOrderInput {
  return { index, data: typeof text === 'string' ? Buffer.from(text, 'utf8') : text };
}

export function texts(outputs: readonly WorkOrderOutput[]): Array<[number, string]> {
  return outputs.map((output) => [output.index, Buffer.from(output.data).toString('utf8')]);
}
