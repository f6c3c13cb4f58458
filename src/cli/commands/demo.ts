/**
 * `tcf demo`: starts an embedded TCS in a temporary folder, runs one work order of each example
 * workload through the SDK, prints what happened step by step, and cleans up (also on Ctrl-C).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { generateSigningKey } from '../../crypto/keys.js';
import { createLogger } from '../../log/index.js';
import { startNode, type RunningNode } from '../../node/node.js';
import { TcfClient } from '../../client/client.js';
import { ReceiptStatus } from '../../protocol/errors.js';
import { printJson, say } from '../output.js';

const EXAMPLES = [
  { workload: 'echo-result', inputs: ['Hello, TCF'], explains: 'echoes each input item' },
  { workload: 'heart-disease-eval', inputs: ['Data: 25 10 1 67 102 125 1 95 5 10 1 11 36 1'], explains: "Avalon's heart-disease risk estimate from 14 clinical values" },
  { workload: 'inside-out-eval', inputs: ['write demo.txt data-hosted-by-the-TCS'], explains: 'writes a file the TCS hosts, through the I/O plug-in' },
  { workload: 'inside-out-eval', inputs: ['read demo.txt'], explains: 'reads it back' },
] as const;

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Start an embedded TCS, run one work order of each example workload, and explain each step.')
    .option('--json', 'one JSON document summarising every step')
    .addHelpText('after', '\nExample:\n  tcf demo\n  tcf demo --json | jq ".workOrders[].output"')
    .action(async (flags: { json?: boolean }) => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-demo-'));
      // Worker processes log on their own; the demo keeps their warnings (the simulated-TEE notice) only.
      process.env.TCF_LOG_LEVEL ??= 'warn';
      const log = (line: string) => {
        if (!flags.json) say(line);
      };
      let starting: Promise<RunningNode> | undefined;
      let cleaning: Promise<void> | undefined;
      // Once only, whether the demo ends, fails or is interrupted. A node still starting is let finish
      // and stopped first: otherwise its worker processes would recreate the folder after it is removed.
      const cleanUp = () =>
        (cleaning ??= (async () => {
          const node = await starting?.catch(() => undefined);
          await node?.stop();
          fs.rmSync(dataDir, { recursive: true, force: true });
        })());
      const interrupted = () => void cleanUp().finally(() => process.exit(130));
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
      try {
        starting = startNode(
          loadConfig({ env: {}, overrides: { dataDir, listener: { port: 0 }, workers: { processesPerWorker: 1 }, enclave: { rsaBits: 2048 } } }),
          createLogger('demo', { level: 'silent' }),
        );
        const node = await starting;
        const client = new TcfClient(node.url);
        const workerId = node.manager?.managedWorkers[0]?.workerId ?? '';
        log(`1. Started an embedded TCS at ${node.url} (LMDB in ${dataDir}) with one worker process.`);
        const worker = await client.trustedWorker(workerId);
        log(`2. Worker ${workerId.slice(0, 16)}… registered evidence ${worker.evidence.proofDataType}; it passes the development policy only — SIMULATED TEE, no hardware isolation.`);
        const requester = generateSigningKey();
        log('3. A fresh requester key signs each work order; inputs are encrypted with a one-time AES-256-GCM key wrapped for the worker.');
        const workOrders = [];
        for (const example of EXAMPLES) {
          const submission = await client.submit({ workerId, workload: example.workload, inputs: [...example.inputs], signer: requester, responseTimeoutMs: 10_000 });
          const opened = await client.waitForResult(submission);
          await client.createReceipt(submission, requester);
          const receipt = await client.retrieveReceipt(submission.workOrderId);
          const output = opened.outData.map((item) => item.data.toString('utf8')).join(' | ');
          workOrders.push({ workload: example.workload, workOrderId: submission.workOrderId, input: example.inputs.join(' | '), output, verified: true, receiptStatus: receipt.receiptCurrentStatus });
          log(`   ${example.workload} (${example.explains}): "${example.inputs.join(' | ')}" → "${output}"  [signature verified, receipt status ${receipt.receiptCurrentStatus}${receipt.receiptCurrentStatus === ReceiptStatus.PROCESSED ? ' = PROCESSED, signed by the worker' : ''}]`);
        }
        log('4. Every result was signed by the worker key bound to its evidence, and decrypted only here.');
        if (flags.json) printJson({ url: node.url, workerId, evidence: worker.evidence, workOrders });
      } finally {
        process.off('SIGINT', interrupted);
        process.off('SIGTERM', interrupted);
        await cleanUp();
      }
    });
}
