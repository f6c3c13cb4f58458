/**
 * `tcf submit` and `tcf result`: send an end-to-end encrypted work order to a verified worker, and
 * get its verified, decrypted result — at once, or later from the saved secrets.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { ErrorCode } from '../../protocol/errors.js';
import { RpcCallError } from '../../client/rpc-client.js';
import { ResultTimeoutError, type TcfClient, type Submission } from '../../client/client.js';
import type { OpenedResult } from '../../workorder/requester.js';
import { accountChoice, clientFor, CliUsageError, loadOrder, requireRequesterKey, saveOrder, wholeNumber, withClientOptions, type ClientFlags } from '../context.js';
import { ExitCode, printJson, say } from '../output.js';
import { startProgress } from '../progress.js';

interface SubmitFlags extends ClientFlags {
  workload: string;
  in: string[];
  worker?: string;
  sign?: boolean;
  receipt?: boolean;
  async?: boolean;
  timeout: number;
  out?: string;
}

function readInput(value: string): Buffer {
  if (!value.startsWith('@')) return Buffer.from(value, 'utf8');
  try {
    return fs.readFileSync(value.slice(1));
  } catch (error) {
    throw new CliUsageError(`--in ${value}: ${(error as Error).message}`);
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function describeOutputs(opened: OpenedResult): { index: number; text?: string; base64?: string }[] {
  return opened.outData.map((item) => {
    try {
      return { index: item.index, text: utf8Strict.decode(item.data) };
    } catch {
      return { index: item.index, base64: item.data.toString('base64') };
    }
  });
}

function report(opened: OpenedResult, submission: Submission, flags: ClientFlags & { out?: string }): void {
  const outputs = describeOutputs(opened);
  if (flags.out) fs.writeFileSync(flags.out, Buffer.concat(opened.outData.map((item) => item.data)));
  if (flags.json) {
    printJson({ workOrderId: submission.workOrderId, workerId: submission.worker.keys.workerId, verified: true, simulated: submission.worker.evidence.simulated, outputs });
    return;
  }
  say(`work order ${submission.workOrderId}: result signed by the worker and verified${submission.worker.evidence.simulated ? ' (worker runs in a SIMULATED TEE)' : ''}`);
  for (const output of outputs) say(`  [${output.index}] ${output.text ?? `(binary, base64) ${output.base64}`}`);
  if (flags.out) say(`  outputs written to ${flags.out}`);
}

async function waitWithProgress(client: TcfClient, submission: Submission, timeoutMs: number): Promise<OpenedResult> {
  const progress = startProgress(`waiting for work order ${submission.workOrderId.slice(0, 12)}…`);
  try {
    return await client.waitForResult(submission, {
      timeoutMs,
      onPending: (_elapsed, state) => progress.update(`work order ${submission.workOrderId.slice(0, 12)}… ${state ?? 'pending'}`),
    });
  } finally {
    progress.stop();
  }
}

export function registerSubmitCommands(program: Command): void {
  withClientOptions(program.command('submit'))
    .description('Encrypt inputs for a verified worker, submit the work order, and print the verified, decrypted result.')
    .requiredOption('--workload <id>', 'workload name (echo-result, heart-disease-eval, inside-out-eval) or hex id')
    .option('--in <text|@file>', 'one input item: text, or @path for a file\'s bytes (repeat for more items)', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--worker <workerId>', 'the worker to use (default: the first one the TCS lists)')
    .option('--sign', 'sign the work order with the requester key from `tcf keys create`')
    .option('--receipt', 'create the signed receipt of the work order right after submitting (needs --sign)')
    .option('--async', 'return at once with the workOrderId; fetch the result later with `tcf result`')
    .option('--timeout <ms>', 'how long to wait for the result', wholeNumber, 120_000)
    .option('--out <file>', 'also write the decrypted outputs (concatenated) to a file')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  tcf submit --workload echo-result --in "Hello"',
        '  tcf submit --workload heart-disease-eval --in "Data: 25 10 1 67 102 125 1 95 5 10 1 11 36 1" --json',
        '  tcf submit --workload echo-result --in @notes.txt --sign --async && tcf result <workOrderId> --wait',
      ].join('\n'),
    )
    .action(async (flags: SubmitFlags) => {
      if (flags.in.length === 0) throw new CliUsageError('give at least one --in');
      if (flags.ledger === 'ethereum' && !accountChoice(flags)) {
        throw new CliUsageError('submitting through the chain sends a transaction: give --account-key, TCF_ETHEREUM_KEY or --dev-account');
      }
      const client = await clientFor(flags);
      const workerId = flags.worker ?? (await client.lookUpWorkers())[0];
      if (!workerId) throw new CliUsageError(`${client.backend.description} has no workers`);
      const timeoutMs = flags.timeout;
      const options: Parameters<TcfClient['submit']>[0] = {
        workerId,
        workload: flags.workload,
        inputs: flags.in.map((value) => ({ data: readInput(value) })),
        responseTimeoutMs: flags.async ? 0 : Math.min(timeoutMs, 30_000),
      };
      if (flags.receipt && !flags.sign) throw new CliUsageError('--receipt needs --sign: a receipt is signed by the requester key');
      if (flags.sign) options.signer = requireRequesterKey();
      const progress = flags.async ? undefined : startProgress('submitting');
      let submission: Submission;
      try {
        submission = await client.submit(options);
      } finally {
        progress?.stop();
      }
      if (flags.receipt && options.signer) await client.createReceipt(submission, options.signer);
      if (flags.async) {
        const file = saveOrder(submission);
        if (flags.json) printJson({ workOrderId: submission.workOrderId, workerId, secretsFile: file });
        else {
          say(`submitted work order ${submission.workOrderId}`);
          say(`  its session key is saved in ${file} (keep it private); get the result with: tcf result ${submission.workOrderId} --wait`);
        }
        return;
      }
      let opened: OpenedResult;
      try {
        opened = await waitWithProgress(client, submission, timeoutMs);
      } catch (error) {
        if (!(error instanceof ResultTimeoutError)) throw error;
        // The work order is still running: keep its secrets so the result can be opened later instead of lost.
        const file = saveOrder(submission);
        throw new ResultTimeoutError(`${error.message}; its secrets are saved in ${file}: get the result later with tcf result ${submission.workOrderId} --wait`);
      }
      report(opened, submission, flags);
    });

  withClientOptions(program.command('result'))
    .description('Fetch, verify and decrypt the result of a work order submitted with --async from this requester home.')
    .argument('<workOrderId>', 'the id `tcf submit --async` printed')
    .option('--wait', 'wait until the result is ready')
    .option('--timeout <ms>', 'how long --wait waits', wholeNumber, 120_000)
    .option('--out <file>', 'also write the decrypted outputs (concatenated) to a file')
    .addHelpText('after', '\nExit code 6 means "still pending" (without --wait, or when --wait times out).\n\nExample:\n  tcf result 3f2a…c9 --wait --json')
    .action(async (workOrderId: string, flags: ClientFlags & { wait?: boolean; timeout: number; out?: string }) => {
      const client = await clientFor(flags);
      const submission = loadOrder(workOrderId);
      if (flags.wait) return report(await waitWithProgress(client, submission, flags.timeout), submission, flags);
      try {
        report(await client.waitForResult(submission, { timeoutMs: 0 }), submission, flags);
      } catch (error) {
        if (!(error instanceof ResultTimeoutError || (error instanceof RpcCallError && error.code === ErrorCode.PENDING))) throw error;
        if (flags.json) printJson({ workOrderId, pending: true });
        else say(`work order ${workOrderId} is still pending; add --wait to wait for it`);
        process.exitCode = ExitCode.PENDING;
      }
    });
}
