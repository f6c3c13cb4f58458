/**
 * The hostile-input corpus (test/hostile/corpus.json, from scripts/make-hostile-corpus.ts) against a
 * running node: every call gets its expected spec code and message, the node keeps serving, and no
 * work order from the corpus is stored. Then the calls that need real keys: tampered ciphertexts,
 * swapped IVs, a work order for another worker, signatures by the wrong key.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { generateSigningKey, textToHex } from '../../src/crypto/index.js';
import type { RunningNode } from '../../src/node/index.js';
import { RpcCallError, type TcfClient } from '../../src/client/index.js';
import { buildWorkOrder, type BuiltWorkOrder } from '../../src/workorder/index.js';
import { expandBody, type HostileCase } from '../../scripts/make-hostile-corpus.js';
import { PROJECT_ROOT } from '../helpers/node-process.js';
import { startTestNode, type TestNode } from '../helpers/in-process-node.js';

const corpus = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'test/hostile/corpus.json'), 'utf8')) as HostileCase[];

type Reply = { error?: { code: number; message: string } };

/** Sends one corpus body; a batch reply is judged by its first answer. */
async function send(url: string, entry: HostileCase): Promise<{ status: number; reply: Reply }> {
  const body = entry.bodyBase64 ? Buffer.from(entry.body, 'base64') : Buffer.from(expandBody(entry.body), 'utf8');
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Blob([Uint8Array.from(body)]) });
  const reply = (await response.json()) as Reply | Reply[];
  return { status: response.status, reply: Array.isArray(reply) ? (reply[0] ?? {}) : reply };
}

describe('hostile input', () => {
  let test: TestNode;
  let node: RunningNode;
  let client: TcfClient;
  let workerId: string;

  before(async () => {
    test = await startTestNode('hostile', { workers: { names: ['hostile-a', 'hostile-b'] } });
    ({ node, client, workerId } = test);
  });

  after(() => test.stop());

  it(`answers all ${corpus.length} corpus calls with the expected code and message, and keeps serving`, async () => {
    assert.ok(corpus.length >= 200, `the corpus holds ${corpus.length} calls`);
    let answered = 0;
    const wrong: string[] = [];
    for (const entry of corpus) {
      const { status, reply } = await send(node.url, entry);
      const error = reply.error;
      const ok = error !== undefined && error.code === entry.expectCode && new RegExp(entry.expectMessage).test(error.message) && (entry.expectHttpStatus === undefined || status === entry.expectHttpStatus);
      if (ok) answered += 1;
      else wrong.push(`${entry.name}: HTTP ${status} ${JSON.stringify(error)}`);
    }
    process.stdout.write(`# hostile corpus: ${corpus.length} calls, ${answered} answered with the expected code, ${wrong.length} not, 0 crashes\n`);
    assert.deepEqual(wrong, []);
    assert.deepEqual(await client.lookUpWorkers(), node.manager!.managedWorkers.map((worker) => worker.workerId).sort(), 'the node still serves');
    const stored = await node.store.getWorkOrder('dead' + '0'.repeat(60));
    assert.equal(stored, undefined, 'no corpus work order was stored');
    assert.equal(await node.store.pendingCount(), 0);
  });

  it('fuzzed bodies (fast-check): arbitrary JSON, envelopes with arbitrary params, raw bytes — always a JSON-RPC answer, never a crash', async () => {
    const methods = ['WorkerLookUp', 'WorkerRetrieve', 'WorkOrderSubmit', 'WorkOrderGetResult', 'WorkOrderReceiptCreate', 'WorkOrderReceiptUpdate', 'EncryptionKeySet', 'WorkerRegister'];
    const bodies = fc.oneof(
      fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
      fc.record({ method: fc.constantFrom(...methods), params: fc.jsonValue(), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)) })
        .map((call) => Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...call }))),
      fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
    );
    let calls = 0;
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        calls += 1;
        const response = await fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Blob([Uint8Array.from(body)]) });
        assert.ok(response.status === 200 || response.status === 204, `HTTP ${response.status}`);
        if (response.status === 204) return;
        const replies = [(await response.json()) as unknown].flat() as { jsonrpc?: string; error?: { code?: unknown; message?: unknown }; result?: unknown }[];
        for (const reply of replies) {
          assert.equal(reply.jsonrpc, '2.0');
          if (reply.error) {
            assert.equal(typeof reply.error.code, 'number');
            assert.equal(typeof reply.error.message, 'string');
            assert.notEqual(reply.error.code, -32603, `internal error for ${body.toString('utf8').slice(0, 200)}`);
          } else assert.ok('result' in reply);
        }
      }),
      { numRuns: 300 },
    );
    process.stdout.write(`# listener fuzz: ${calls} calls, 0 crashes, no internal errors\n`);
    assert.equal(await node.store.pendingCount(), 0, 'no fuzzed call was accepted as a work order');
    assert.ok((await client.lookUpWorkers()).length === 2, 'the node still serves');
  });

  describe('calls that need the worker\'s real keys', () => {
    let built: () => BuiltWorkOrder;
    before(async () => {
      const worker = await client.trustedWorker(workerId);
      built = () => buildWorkOrder({ worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'one' }, { data: 'two' }], responseTimeoutMSecs: 10_000, signer: generateSigningKey() });
    });

    const expectRefusal = async (params: BuiltWorkOrder['params'], code: number, message: RegExp) => {
      await assert.rejects(client.rpc.call('WorkOrderSubmit', params), (error: unknown) => {
        assert.ok(error instanceof RpcCallError, String(error));
        assert.equal(error.code, code, error.message);
        assert.match(error.message, message);
        return true;
      });
    };

    it('a truncated ciphertext', async () => {
      const order = built();
      order.params.inData[0]!.data = Buffer.from(order.params.inData[0]!.data, 'base64').subarray(0, 4).toString('base64');
      await expectRefusal(order.params, 4, /requesterSignature/);
    });

    it('swapped item IVs (unsigned, so only the worker can tell)', async () => {
      const order = built();
      delete order.params.requesterSignature;
      delete order.params.verifyingKey;
      const [first, second] = order.params.inData;
      [first!.iv, second!.iv] = [second!.iv, first!.iv];
      await expectRefusal(order.params, 2, /encryptedRequestHash.*tampered/);
    });

    it('a work order addressed to another worker of this node', async () => {
      const order = built();
      order.params.workerId = node.manager!.managedWorkers[1]!.workerId;
      await expectRefusal(order.params, 4, /requesterSignature/);
      const unsigned = built();
      delete unsigned.params.requesterSignature;
      delete unsigned.params.verifyingKey;
      unsigned.params.workerId = node.manager!.managedWorkers[1]!.workerId;
      await expectRefusal(unsigned.params, 2, /encryptedSessionKey|encryptedRequestHash/);
    });

    it('a signature by a key other than verifyingKey', async () => {
      const order = built();
      order.params.verifyingKey = generateSigningKey().publicKeyPem;
      await expectRefusal(order.params, 4, /requesterSignature/);
    });

    it('a requesterId not bound to the signing key', async () => {
      const order = buildWorkOrder({ worker: (await client.trustedWorker(workerId)).keys, workloadId: textToHex('echo-result'), inData: [{ data: 'x' }], responseTimeoutMSecs: 10_000, signer: generateSigningKey(), requesterId: 'ab'.repeat(32) });
      await expectRefusal(order.params, 4, /requesterId/);
    });

    it('a replayed work order (same id) is refused and the first one is untouched', async () => {
      const order = built();
      const first = await client.rpc.call('WorkOrderSubmit', order.params);
      assert.equal(first.workOrderId, order.params.workOrderId);
      await expectRefusal(order.params, 2, /already exists/);
    });
  });
});
