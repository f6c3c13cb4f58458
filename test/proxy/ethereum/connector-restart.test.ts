/**
 * The proxy model as operators and requesters run it: `tcf connector ethereum` as its own OS process
 * on a real anvil chain, killed with SIGKILL in the middle of a batch and started again on the same
 * data directory — every work order is completed on chain exactly once, with exactly one worker
 * receipt update — and the `tcf` binary submitting, listing and auditing through the chain.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TcfClient, type Submission } from '../../../src/client/index.js';
import { generateSigningKey } from '../../../src/crypto/index.js';
import { LAST_RECEIPT_UPDATE, type ReceiptUpdateRetrieveResult } from '../../../src/protocol/index.js';
import { EthereumRequesterBackend, WorkOrderStatus, writeDeploymentFile } from '../../../src/proxy/ethereum/index.js';
import { startNodeProcess, tcf, tempDir, type NodeProcess } from '../../helpers/node-process.js';
import { Account, eventually, startTestChain, type TestChain } from './fixtures.js';

const BATCH = 30;

describe('tcf connector ethereum as a process', () => {
  let chain: TestChain;
  let work: string;
  let deploymentFile: string;
  let dataDir: string;
  let connector: NodeProcess | undefined;

  const startConnector = () =>
    startNodeProcess({
      dataDir,
      command: ['connector', 'ethereum'],
      args: ['--rpc', chain.anvil.rpcUrl, '--contracts', deploymentFile, '--dev-account', String(Account.WORKER), '--poll-interval', '100'],
      env: { TCF_ENCLAVE_RSA_BITS: '2048' },
    });

  before(async () => {
    chain = await startTestChain();
    work = tempDir('connector-process');
    dataDir = path.join(work, 'data');
    deploymentFile = path.join(work, 'deployment.json');
    writeDeploymentFile(deploymentFile, chain.deployment);
    connector = await startConnector();
  });
  after(async () => {
    await connector?.stop();
    await chain?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('a SIGKILL in the middle of a batch: after restart every work order is completed exactly once, with one worker receipt update', async (t) => {
    const ledger = chain.ledger(Account.REQUESTER);
    const client = new TcfClient(new EthereumRequesterBackend(ledger, chain.deployment), { pollIntervalMs: 100 });
    const [workerId] = await client.lookUpWorkers();
    assert.ok(workerId, 'the connector registered no worker');
    const signer = generateSigningKey();
    const submissions: Submission[] = [];
    const submitOne = async (index: number) => {
      const submission = await client.submit({ workerId, workload: 'echo-result', inputs: [`order ${index}`], signer });
      await client.createReceipt(submission, signer);
      submissions.push(submission);
    };
    await submitOne(0);
    // The kill lands as soon as the first work order is completed, while the rest are still arriving.
    const killed = (async () => {
      while ((await ledger.workOrderStatus(submissions[0]!.workOrderId)) !== WorkOrderStatus.COMPLETED) await new Promise((resolve) => setTimeout(resolve, 10));
      await connector!.kill9();
    })();
    for (let index = 1; index < BATCH; index += 1) await submitOne(index);
    await killed;

    let completedAtKill = 0;
    for (const { workOrderId } of submissions) if ((await ledger.workOrderStatus(workOrderId)) === WorkOrderStatus.COMPLETED) completedAtKill += 1;
    assert.ok(completedAtKill < BATCH, `the connector finished all ${BATCH} before the kill: the test did not interrupt a batch`);
    t.diagnostic(`killed with ${completedAtKill} of ${BATCH} completed on chain`);

    connector = await startConnector();
    for (const [index, submission] of submissions.entries()) {
      const opened = await client.waitForResult(submission, { timeoutMs: 60_000 });
      assert.equal(opened.outData[0]!.data.toString(), `RESULT: order ${index}`);
    }

    const registry = chain.contract('WorkOrderRegistry', Account.OWNER);
    const completions = await registry.queryFilter(registry.filters.workOrderCompleted!(), 0, 'latest');
    for (const { workOrderId } of submissions) {
      const events = completions.filter((log) => 'args' in log && (log.args[0] as string) === `0x${workOrderId}`);
      assert.equal(events.length, 1, `work order ${workOrderId} completed ${events.length} times`);
    }
    const metrics = await (await fetch(new URL('/metrics', connector.url))).text();
    const completedByRestarted = Number(/^tcf_connector_completed_total (\d+)$/m.exec(metrics)?.[1]);
    assert.equal(completedByRestarted, BATCH - completedAtKill, `the restarted connector reports ${completedByRestarted} completions:\n${metrics}`);
    assert.match(metrics, /^tcf_connector_owed_completions \d+$/m);
    for (const { workOrderId } of submissions) {
      const byWorker: ReceiptUpdateRetrieveResult = await eventually('the worker receipt update', () => ledger.retrieveReceiptUpdate(workOrderId, LAST_RECEIPT_UPDATE, workerId));
      assert.equal(byWorker.updateCount, 1, `work order ${workOrderId} has ${byWorker.updateCount} worker receipt updates`);
    }
  });

  it('tcf submit, receipts and workers work through the chain with --ledger ethereum', async () => {
    const home = path.join(work, 'home');
    const env = { TCF_HOME: home };
    const chainFlags = ['--ledger', 'ethereum', '--rpc', chain.anvil.rpcUrl, '--contracts', deploymentFile];
    assert.equal((await tcf(['keys', 'create'], env)).code, 0);

    const workers = await tcf(['workers', 'list', ...chainFlags, '--json'], env);
    assert.equal(workers.code, 0, workers.stderr);
    const [worker] = JSON.parse(workers.stdout) as { workerId: string; trusted: boolean }[];
    assert.equal(worker?.trusted, true);

    const submitted = await tcf(['submit', '--workload', 'echo-result', '--in', 'hello chain', '--sign', '--receipt', ...chainFlags, '--dev-account', String(Account.STRANGER), '--json'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const result = JSON.parse(submitted.stdout) as { workOrderId: string; verified: boolean; outputs: { text: string }[] };
    assert.equal(result.verified, true);
    assert.equal(result.outputs[0]?.text, 'RESULT: hello chain');

    const shown = await eventually('the worker update on the receipt', async () => {
      const run = await tcf(['receipts', 'show', result.workOrderId, ...chainFlags, '--json'], env);
      assert.equal(run.code, 0, run.stderr);
      const receipt = JSON.parse(run.stdout) as { updates: { signer: string; signatureValid: boolean }[] };
      return receipt.updates.length > 0 ? receipt : undefined;
    });
    assert.deepEqual(
      shown.updates.map(({ signer, signatureValid }) => ({ signer, signatureValid })),
      [{ signer: 'worker', signatureValid: true }],
    );

    // Submitting needs an account to pay; without one the command says so (usage error, exit 2).
    const unpaid = await tcf(['submit', '--workload', 'echo-result', '--in', 'x', ...chainFlags], env);
    assert.equal(unpaid.code, 2);
    assert.match(unpaid.stderr, /sends a transaction: give --account-key/);
    // An Ethereum node that does not answer is "unreachable" (exit 3), as a TCS that does not answer is.
    const down = await tcf(['workers', 'list', '--ledger', 'ethereum', '--rpc', 'http://127.0.0.1:1', '--contracts', deploymentFile], env);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /cannot reach the Ethereum node/);
    // A deployment file for another chain is refused before any call.
    const wrongChain = { ...chain.deployment, chainId: 1 };
    const wrongFile = path.join(work, 'mainnet.json');
    writeDeploymentFile(wrongFile, wrongChain);
    const mismatch = await tcf(['workers', 'list', '--ledger', 'ethereum', '--rpc', chain.anvil.rpcUrl, '--contracts', wrongFile], env);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /is chain 31337, but .*mainnet\.json is for chain 1/);
  });
});
