/**
 * Requester-signature enforcement as a per-worker policy: a worker named in workers.signedOnly
 * advertises it in its details and refuses unsigned work orders (at the listener and inside the
 * worker), while its neighbour on the same node accepts them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateSigningKey, textToHex } from '../../src/crypto/index.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { buildWorkOrder } from '../../src/workorder/index.js';
import type { RunningNode } from '../../src/node/index.js';
import { workerIdForName } from '../../src/manager/index.js';
import { RpcCallError, type TcfClient } from '../../src/client/index.js';
import { startTestNode, type TestNode } from '../helpers/in-process-node.js';

describe('per-worker requester-signature policy', () => {
  let test: TestNode;
  let node: RunningNode;
  let client: TcfClient;
  const strict = workerIdForName('strict-worker');
  const relaxed = workerIdForName('relaxed-worker');

  before(async () => {
    test = await startTestNode('policy', { workers: { names: ['strict-worker', 'relaxed-worker'], signedOnly: ['strict-worker'] } });
    ({ node, client } = test);
  });

  after(() => test.stop());

  it('is advertised in each worker\'s details', async () => {
    assert.equal((await client.getWorker(strict)).details.requesterSignaturePolicy, 'required');
    assert.equal((await client.getWorker(relaxed)).details.requesterSignaturePolicy, 'optional');
  });

  it('refuses an unsigned work order for the strict worker only', async () => {
    await assert.rejects(client.run({ workerId: strict, workload: 'echo-result', inputs: ['x'], responseTimeoutMs: 10_000 }), (error: unknown) => error instanceof RpcCallError && error.code === ErrorCode.INVALID_SIGNATURE && /only signed/.test(error.message));
    const signed = await client.run({ workerId: strict, workload: 'echo-result', inputs: ['signed'], signer: generateSigningKey(), responseTimeoutMs: 10_000 });
    assert.equal(signed.outData[0]!.data.toString(), 'RESULT: signed');
    const unsigned = await client.run({ workerId: relaxed, workload: 'echo-result', inputs: ['unsigned'], responseTimeoutMs: 10_000 });
    assert.equal(unsigned.outData[0]!.data.toString(), 'RESULT: unsigned');
  });

  it('is enforced inside the worker too: an unsigned order slipped into the store by the host fails with code 4', async () => {
    const worker = await client.trustedWorker(strict);
    const params = buildWorkOrder({ worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'smuggled' }] }).params;
    assert.equal(await node.store.submitWorkOrder({ workOrderId: params.workOrderId, workerId: strict, requesterId: params.requesterId, request: params, submittedAt: Date.now() }, { maxPending: 100 }), 'accepted');
    let answer: unknown;
    for (let tries = 0; tries < 200; tries += 1) {
      try {
        answer = await client.rpc.call('WorkOrderGetResult', { workOrderId: params.workOrderId });
        break;
      } catch (error) {
        if (error instanceof RpcCallError && error.code === ErrorCode.PENDING) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        answer = error;
        break;
      }
    }
    assert.ok(answer instanceof RpcCallError, `the worker answered ${JSON.stringify(answer)}`);
    assert.equal(answer.code, ErrorCode.INVALID_SIGNATURE);
    assert.match(answer.message, /only signed/);
  });
});
