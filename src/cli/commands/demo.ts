/**
 * `tcf demo`: starts an embedded TCS in a temporary folder — with `--ledger ethereum` also a local
 * development chain, TCF's contracts and the connector — runs one work order of each example workload
 * through the SDK, prints what happened step by step, and cleans up (also on Ctrl-C).
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
import {
  EthereumConnector,
  EthereumLedger,
  EthereumRequesterBackend,
  compileContracts,
  deployContracts,
  startAnvil,
  type AnvilNode,
} from '../../proxy/ethereum/index.js';
import { CliUsageError } from '../context.js';
import { printJson, say } from '../output.js';

const EXAMPLES = [
  { workload: 'echo-result', inputs: ['Hello, TCF'], explains: 'echoes each input item' },
  { workload: 'heart-disease-eval', inputs: ['Data: 25 10 1 67 102 125 1 95 5 10 1 11 36 1'], explains: "Avalon's heart-disease risk estimate from 14 clinical values" },
  { workload: 'inside-out-eval', inputs: ['write demo.txt data-hosted-by-the-TCS'], explains: 'writes a file the TCS hosts, through the I/O plug-in' },
  { workload: 'inside-out-eval', inputs: ['read demo.txt'], explains: 'reads it back' },
] as const;

/** Development accounts of the local chain, by role. */
const DEPLOYER = 0;
const CONNECTOR = 1;
const REQUESTER = 2;

/** What the demo runs against, and how to take it down again. */
interface DemoTarget {
  client: TcfClient;
  workerId: string;
  /** Step 1 of the story: what was started. */
  started: string[];
  summary: Record<string, unknown>;
}

type Teardown = (() => Promise<void>)[];

function directTarget(node: RunningNode): DemoTarget {
  return {
    client: new TcfClient(node.url),
    workerId: node.manager?.managedWorkers[0]?.workerId ?? '',
    started: [`1. Started an embedded TCS at ${node.url} (LMDB in ${node.config.dataDir}) with one worker process.`],
    summary: { url: node.url },
  };
}

async function ethereumTarget(node: RunningNode, teardown: Teardown): Promise<DemoTarget> {
  const chain: AnvilNode = await startAnvil();
  teardown.unshift(() => chain.stop());
  const { artifacts } = await compileContracts();
  const deployment = await deployContracts(chain.wallet(DEPLOYER), artifacts);
  const connector = new EthereumConnector({
    ledger: new EthereumLedger({ deployment, artifacts, runner: chain.wallet(CONNECTOR) }),
    deployment,
    store: node.store,
    dataDir: node.config.dataDir,
    confirmations: 0,
    pollIntervalMs: 100,
    maxPendingWorkOrders: node.config.listener.maxPendingWorkOrders,
    log: createLogger('demo', { level: 'silent' }),
  });
  await connector.start();
  teardown.unshift(() => connector.stop());
  const requesterLedger = new EthereumLedger({ deployment, artifacts, runner: chain.wallet(REQUESTER) });
  return {
    client: new TcfClient(new EthereumRequesterBackend(requesterLedger, deployment), { pollIntervalMs: 100 }),
    workerId: node.manager?.managedWorkers[0]?.workerId ?? '',
    started: [
      `1. Started a local development chain (anvil, chain ${chain.chainId}) at ${chain.rpcUrl} and deployed TCF's four registries from account ${chain.accounts[DEPLOYER]!.address}.`,
      `   Started an embedded TCS (LMDB in ${node.config.dataDir}) and the connector, whose account ${chain.accounts[CONNECTOR]!.address} registered the TCS's worker on chain.`,
      `   The requester talks only to the chain, from account ${chain.accounts[REQUESTER]!.address}: submit, result and receipts are transactions and reads of the contracts.`,
    ],
    summary: { rpcUrl: chain.rpcUrl, chainId: chain.chainId, deployment },
  };
}

/** The receipt once the worker's signed update is on it (at once in the direct model, a connector pass later on chain). */
async function receiptWithWorkerUpdate(client: TcfClient, workOrderId: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = (await client.retrieveReceipt(workOrderId)).receiptCurrentStatus;
    if (status !== ReceiptStatus.PENDING || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Start an embedded TCS, run one work order of each example workload, and explain each step.')
    .option('--ledger <model>', 'direct (JSON-RPC to the TCS) or ethereum (through a local chain, the contracts and the connector)', 'direct')
    .option('--json', 'one JSON document summarising every step')
    .addHelpText('after', '\nExamples:\n  tcf demo\n  tcf demo --ledger ethereum      # the proxy model, on a local anvil chain\n  tcf demo --json | jq ".workOrders[].output"')
    .action(async (flags: { json?: boolean; ledger: string }) => {
      if (flags.ledger !== 'direct' && flags.ledger !== 'ethereum') throw new CliUsageError(`--ledger must be direct or ethereum, not ${JSON.stringify(flags.ledger)}`);
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-demo-'));
      // Worker processes log on their own; the demo keeps their warnings (the simulated-TEE notice) only.
      process.env.TCF_LOG_LEVEL ??= 'warn';
      const log = (line: string) => {
        if (!flags.json) say(line);
      };
      let starting: Promise<RunningNode> | undefined;
      let cleaning: Promise<void> | undefined;
      // Run in order: the connector before the node whose store it uses, the chain after both.
      const teardown: Teardown = [];
      // Once only, whether the demo ends, fails or is interrupted. A node still starting is let finish
      // and stopped first: otherwise its worker processes would recreate the folder after it is removed.
      const cleanUp = () =>
        (cleaning ??= (async () => {
          const node = await starting?.catch(() => undefined);
          for (const step of teardown) await step().catch(() => undefined);
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
        const target = flags.ledger === 'ethereum' ? await ethereumTarget(node, teardown) : directTarget(node);
        const { client, workerId } = target;
        for (const line of target.started) log(line);
        const worker = await client.trustedWorker(workerId);
        log(`2. Worker ${workerId.slice(0, 16)}… registered evidence ${worker.evidence.proofDataType}; it passes the development policy only — SIMULATED TEE, no hardware isolation.`);
        const requester = generateSigningKey();
        log('3. A fresh requester key signs each work order; inputs are encrypted with a one-time AES-256-GCM key wrapped for the worker.');
        const workOrders = [];
        for (const example of EXAMPLES) {
          const submission = await client.submit({ workerId, workload: example.workload, inputs: [...example.inputs], signer: requester, responseTimeoutMs: 10_000 });
          const opened = await client.waitForResult(submission);
          await client.createReceipt(submission, requester);
          const receiptStatus = await receiptWithWorkerUpdate(client, submission.workOrderId);
          const output = opened.outData.map((item) => item.data.toString('utf8')).join(' | ');
          workOrders.push({ workload: example.workload, workOrderId: submission.workOrderId, input: example.inputs.join(' | '), output, verified: true, receiptStatus });
          log(`   ${example.workload} (${example.explains}): "${example.inputs.join(' | ')}" → "${output}"  [signature verified, receipt status ${receiptStatus}${receiptStatus === ReceiptStatus.PROCESSED ? ' = PROCESSED, signed by the worker' : ''}]`);
        }
        log('4. Every result was signed by the worker key bound to its evidence, and decrypted only here.');
        if (flags.json) printJson({ ...target.summary, ledger: flags.ledger, workerId, evidence: worker.evidence, workOrders });
      } finally {
        process.off('SIGINT', interrupted);
        process.off('SIGTERM', interrupted);
        await cleanUp();
      }
    });
}
