/**
 * Encryption-key rotation on a real node (in-process node, real worker processes): the worker signs
 * the new key's announcement, EncryptionKeyGet serves it with nonce and signature, requesters keep
 * trusting the worker, and work orders encrypted to the previous key still open. EncryptionKeySet
 * from anyone but the operator is refused, and from the operator too unless the worker signed it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { base64ToBytes, bytesToBase64, ecdsaSignDigest, ecdsaVerifyDigest, generateEncryptionKey, generateSigningKey, textToHex, verifyingKeyFromPem } from '../../src/crypto/index.js';
import { encryptionKeyAnnouncementHash, ErrorCode } from '../../src/protocol/index.js';
import type { RunningNode } from '../../src/node/index.js';
import { JsonRpcClient, RpcCallError, type TcfClient } from '../../src/client/index.js';
import { buildWorkOrder, openWorkOrderResult } from '../../src/workorder/index.js';
import { startTestNode, type TestNode } from '../helpers/in-process-node.js';

const OPERATOR_TOKEN = 'keys-test-operator-token';

describe('encryption-key rotation', () => {
  let test: TestNode;
  let node: RunningNode;
  let client: TcfClient;
  let workerId: string;

  before(async () => {
    test = await startTestNode('keys', { workers: { processesPerWorker: 2 }, listener: { operatorToken: OPERATOR_TOKEN } });
    ({ node, client, workerId } = test);
  });

  after(() => test.stop());

  it('rotates: new key served with a worker-signed announcement; old-key work orders still open; all processes use the new key', async () => {
    const before = await client.rpc.call('EncryptionKeyGet', { workerId });
    const oldTrusted = await client.trustedWorker(workerId);
    const builtForOldKey = buildWorkOrder({ worker: oldTrusted.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'old key' }], responseTimeoutMSecs: 10_000 });

    await node.manager!.rotateEncryptionKey(workerId, 'rotation-1');
    const afterRotation = await client.rpc.call('EncryptionKeyGet', { workerId });
    assert.notEqual(afterRotation.encryptionKey, before.encryptionKey);
    assert.equal(afterRotation.tag, 'rotation-1');
    assert.match(afterRotation.encryptionKeyNonce, /^[0-9a-f]{32}$/);
    const workerKey = verifyingKeyFromPem((await client.getWorker(workerId)).details.workerTypeData.verificationKey);
    assert.ok(ecdsaVerifyDigest(workerKey, encryptionKeyAnnouncementHash({ ...afterRotation }), base64ToBytes(afterRotation.signature)));

    const newTrusted = await client.trustedWorker(workerId);
    assert.equal(newTrusted.keys.encryptionKeyPem, afterRotation.encryptionKey);
    // Several work orders, so both worker processes serve some under the new key.
    for (let index = 0; index < 6; index += 1) {
      const opened = await client.run({ workerId, workload: 'echo-result', inputs: [`new ${index}`], responseTimeoutMs: 10_000 });
      assert.equal(opened.outData[0]!.data.toString(), `RESULT: new ${index}`);
    }
    const oldResult = await client.rpc.call('WorkOrderSubmit', builtForOldKey.params);
    assert.equal(openWorkOrderResult(oldResult, builtForOldKey, oldTrusted.keys).outData[0]!.data.toString(), 'RESULT: old key');
  });

  it('refuses EncryptionKeySet not signed by the worker (4) and keeps the current key', async () => {
    const current = await client.rpc.call('EncryptionKeyGet', { workerId });
    const impostor = generateSigningKey();
    const announcement = { workerId, encryptionKey: generateEncryptionKey(2048).publicKeyPem, encryptionKeyNonce: 'aa'.repeat(16), tag: '' };
    const signature = bytesToBase64(ecdsaSignDigest(impostor.privateKey, encryptionKeyAnnouncementHash(announcement)));
    const operator = new JsonRpcClient(node.url, { operatorToken: OPERATOR_TOKEN });
    await assert.rejects(operator.call('EncryptionKeySet', { ...announcement, signature }), (error: unknown) => error instanceof RpcCallError && error.code === ErrorCode.INVALID_SIGNATURE);
    assert.equal((await client.rpc.call('EncryptionKeyGet', { workerId })).encryptionKey, current.encryptionKey);
  });
});
