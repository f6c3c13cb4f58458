/**
 * Crash tests on the real node: kill -9 of the whole node (listener + enclave manager) and of one
 * worker process while work orders are queued and running. Every accepted work order must complete
 * exactly once, and the worker's identity (its keys) must survive the restart.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { generateSigningKey, textToHex } from '../../src/crypto/index.js';
import { buildWorkOrder } from '../../src/workorder/index.js';
import { receiptCreateParams, TcfClient, type Submission } from '../../src/client/index.js';
import { openStore } from '../../src/store/index.js';
import { startNodeProcess, tempDir } from '../helpers/node-process.js';

const ORDERS = 200;
const BATCH = 100;

async function postBatch(url: string, calls: { method: string; params: unknown }[]): Promise<{ error?: { code: number } }[]> {
  const body = calls.map((call, index) => ({ jsonrpc: '2.0', id: index + 1, ...call }));
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await response.json()) as { error?: { code: number } }[];
}

/**
 * Submits `count` signed work orders and their receipts in JSON-RPC batches, so that far more work is
 * accepted than the worker can have finished by the time the test strikes.
 */
async function submitBatch(client: TcfClient, url: string, workerId: string, count: number): Promise<Submission[]> {
  const signer = generateSigningKey();
  const worker = await client.trustedWorker(workerId);
  const submissions: Submission[] = Array.from({ length: count }, (_, index) => {
    const built = buildWorkOrder({ worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: `order ${index}` }], signer, responseTimeoutMSecs: 0 });
    return { workOrderId: built.params.workOrderId, built, worker };
  });
  for (let start = 0; start < count; start += BATCH) {
    const chunk = submissions.slice(start, start + BATCH);
    const answers = await postBatch(url, chunk.map((submission) => ({ method: 'WorkOrderSubmit', params: submission.built.params })));
    assert.ok(answers.every((answer) => answer.error?.code === 5), 'every submission is accepted as pending');
  }
  for (let start = 0; start < count; start += BATCH) {
    const chunk = submissions.slice(start, start + BATCH);
    const answers = await postBatch(url, chunk.map((submission) => ({ method: 'WorkOrderReceiptCreate', params: receiptCreateParams(submission, signer) })));
    assert.ok(answers.every((answer) => answer.error?.code === 0), 'every receipt is created');
  }
  return submissions;
}

/** Every work order has its decrypted, verified result, and its receipt holds exactly one worker update. */
async function assertEachCompletedOnce(client: TcfClient, submissions: Submission[]): Promise<void> {
  for (const [index, submission] of submissions.entries()) {
    const opened = await client.waitForResult(submission, { timeoutMs: 60_000 });
    assert.equal(opened.outData[0]!.data.toString(), `RESULT: order ${index}`);
    const update = await client.retrieveReceiptUpdate(submission.workOrderId, 0xffffffff);
    assert.equal(update.updateCount, 1, `work order ${index} has ${update.updateCount} completion updates`);
  }
}

describe('restart and crash recovery', () => {
  it('kill -9 of the node with work accepted but unfinished: all complete exactly once after restart; keys survive', async () => {
    const dataDir = tempDir('restart');
    try {
      let node = await startNodeProcess({ dataDir, args: ['--processes', '1'] });
      const workerId = node.workers[0]!.workerId;
      let client = new TcfClient(node.url);
      const keysBefore = (await client.getWorker(workerId)).details.workerTypeData;
      const submissions = await submitBatch(client, node.url, workerId, ORDERS);
      await node.kill9();

      // With the node dead, the store shows what was still owed: the test is void unless some was.
      const store = await openStore(path.join(dataDir, 'store'));
      let unfinished = 0;
      for (const submission of submissions) {
        const order = await store.getWorkOrder(submission.workOrderId);
        assert.ok(order, 'an accepted work order was lost');
        if (order.state === 'queued' || order.state === 'processing') unfinished += 1;
      }
      await store.close();
      assert.ok(unfinished > 0, 'every work order had finished before the kill; the test proved nothing');

      node = await startNodeProcess({ dataDir, args: ['--processes', '1'] });
      client = new TcfClient(node.url);
      const keysAfter = (await client.getWorker(workerId)).details.workerTypeData;
      assert.equal(keysAfter.verificationKey, keysBefore.verificationKey);
      assert.equal(keysAfter.encryptionKey, keysBefore.encryptionKey);
      assert.match(node.logs(), /resuming work orders accepted before a restart|worker registered/);
      await assertEachCompletedOnce(client, submissions);
      await node.stop();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('kill -9 of a worker process mid-run: the manager replaces it and every work order completes once', async () => {
    const dataDir = tempDir('workerkill');
    try {
      const node = await startNodeProcess({ dataDir, args: ['--processes', '2'] });
      const workerId = node.workers[0]!.workerId;
      const client = new TcfClient(node.url);
      const submissions = await submitBatch(client, node.url, workerId, ORDERS);
      process.kill(node.workerPids[0]!, 'SIGKILL');
      await assertEachCompletedOnce(client, submissions);
      assert.match(node.logs(), /worker process (replaced|died)/);
      await node.stop();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
