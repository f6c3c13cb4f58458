/**
 * Faults inside the worker, on a real node with real worker processes: a workload that throws, one
 * that hangs past the deadline, one that kills its process. Each work order ends with exactly one
 * outcome and one worker-signed receipt update, and the node goes on serving.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSigningKey } from '../../src/crypto/index.js';
import { ErrorCode, ReceiptStatus } from '../../src/protocol/index.js';
import type { RunningNode } from '../../src/node/index.js';
import { RpcCallError, type TcfClient } from '../../src/client/index.js';
import { PROJECT_ROOT } from '../helpers/node-process.js';
import { startTestNode, type TestNode } from '../helpers/in-process-node.js';

describe('faults inside the worker', () => {
  let test: TestNode;
  let node: RunningNode;
  let client: TcfClient;
  let workerId: string;
  const signer = generateSigningKey();

  before(async () => {
    test = await startTestNode('faults', {
      workers: { workloadModules: [path.join(PROJECT_ROOT, 'test/fixtures/fault-workloads.ts')] },
      enclave: { workOrderTimeoutMs: 1_000, claimLeaseMs: 5_000, maxAttempts: 2, lanesPerProcess: 1 },
    });
    ({ node, client, workerId } = test);
  });

  after(() => test.stop());

  async function expectFailure(workload: string, message: RegExp): Promise<string> {
    const submission = await client.submit({ workerId, workload, inputs: ['x'], signer, responseTimeoutMs: 0 });
    await client.createReceipt(submission, signer);
    await assert.rejects(client.waitForResult(submission, { timeoutMs: 30_000 }), (error: unknown) => {
      assert.ok(error instanceof RpcCallError, String(error));
      assert.equal(error.code, ErrorCode.WORK_ORDER_UNKNOWN_ERROR);
      assert.match(error.message, message);
      return true;
    });
    const order = await node.store.getWorkOrder(submission.workOrderId);
    assert.equal(order?.state, 'failed');
    const receipt = await node.store.getReceipt(submission.workOrderId);
    assert.ok(receipt, 'the receipt is intact');
    assert.ok(receipt.updates.length <= 1, 'at most one completion update');
    if (receipt.updates.length === 1) assert.equal(receipt.updates[0]!.updateType, ReceiptStatus.FAILED);
    const next = await client.run({ workerId, workload: 'echo-result', inputs: ['still serving'], responseTimeoutMs: 10_000 });
    assert.equal(next.outData[0]!.data.toString(), 'RESULT: still serving');
    return submission.workOrderId;
  }

  it('a workload that throws fails its work order with code 10, signed FAILED in the receipt', async () => {
    await expectFailure('test-throw', /workload failed: boom from inside the workload/);
  });

  it('a workload that hangs is stopped at the deadline and its worker process replaced', async () => {
    const pidBefore = node.manager!.processIds[0];
    await expectFailure('test-hang', /exceeded the worker's 1000 ms deadline/);
    assert.notEqual(node.manager!.processIds[0], pidBefore);
  });

  it('a workload that kills its process is retried up to maxAttempts, then fails', async () => {
    const workOrderId = await expectFailure('test-exit', /worker process died 2 times/);
    assert.equal((await node.store.getWorkOrder(workOrderId))?.attempts, 3, 'two runs that killed the process, then the claim that recorded the failure');
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    assert.match(metrics, /^tcf_work_orders_requeued_total 2$/m, 'both deaths put the work order back in the queue');
    assert.match(metrics, /^tcf_worker_process_replacements_total 3$/m, 'one process replaced after the deadline, two after the deaths');
  });
});
