/**
 * inside-out-eval, Avalon's demo of I/O from inside the worker: `read <path>` answers with the
 * file's content, `write <path> <content>` stores one space-free token, each input answering under
 * its own index with Avalon's status text. Inputs run in index order, one after another, so a
 * write and a later read in the same work order see each other. Paths go through the context's
 * ExternalIo, which decides what they name (see external-io.ts: no longer arbitrary host paths).
 *
 * Like Avalon, the request is a C string split on single spaces, and a read's content is returned
 * as a C string, so both stop at the first NUL. An unknown operation answers "RESULT: " and nothing
 * more, as Avalon's did.
 */
import { fileURLToPath } from 'node:url';
import type { WorkOrderInput, WorkOrderOutput } from '../workorder/worker.js';
import { inIndexOrder, tokens, untilNul } from './avalon-text.js';
import { ExternalIoError, UNABLE_TO_OPEN, type ExternalIo } from './external-io.js';
import type { Workload, WorkloadContext } from './workload.js';

const SPACE = 0x20;

export const INSIDE_OUT_MESSAGES = {
  insufficientArguments: 'Insufficient arguments passed for i/o operation',
  writeSucceeded: 'FILE WRITE SUCCESS',
  readFailed: 'FAILED TO READ: ',
  writeFailed: 'FAILED TO WRITE: ',
} as const;

export class InsideOutEval implements Workload {
  readonly name = 'inside-out-eval';
  readonly description = 'Reads ("read <path>") or writes ("write <path> <content>") a file the TCS hosts, through the I/O plug-in';
  readonly sourceFile = fileURLToPath(import.meta.url);

  async process(inputs: readonly WorkOrderInput[], context: WorkloadContext): Promise<WorkOrderOutput[]> {
    const outputs: WorkOrderOutput[] = [];
    for (const input of inIndexOrder(inputs)) {
      const answer = await this.#run(input.data, context.io);
      outputs.push({ index: input.index, data: Buffer.concat([Buffer.from('RESULT: '), answer]) });
    }
    return outputs;
  }

  async #run(request: Buffer, io: ExternalIo): Promise<Buffer> {
    const args = tokens(untilNul(request), SPACE);
    const [operation, file, content] = args;
    if (operation === undefined) return Buffer.from(INSIDE_OUT_MESSAGES.insufficientArguments);
    const verb = operation.toString('latin1');
    if (verb === 'read') {
      if (args.length !== 2 || file === undefined) return Buffer.from(INSIDE_OUT_MESSAGES.insufficientArguments);
      try {
        return untilNul(await io.read(file.toString('utf8')));
      } catch (error) {
        return Buffer.from(INSIDE_OUT_MESSAGES.readFailed + failureReason(error));
      }
    }
    if (verb === 'write') {
      if (args.length !== 3 || file === undefined || content === undefined) return Buffer.from(INSIDE_OUT_MESSAGES.insufficientArguments);
      try {
        await io.write(file.toString('utf8'), content);
        return Buffer.from(INSIDE_OUT_MESSAGES.writeSucceeded);
      } catch (error) {
        return Buffer.from(INSIDE_OUT_MESSAGES.writeFailed + failureReason(error));
      }
    }
    return Buffer.alloc(0);
  }
}

/** A plug-in's own error text may carry host details, so only ExternalIoError reasons reach the requester. */
function failureReason(error: unknown): string {
  return error instanceof ExternalIoError ? error.reason : UNABLE_TO_OPEN;
}
