/**
 * Replays against a real node, on LMDB and (when reachable) PostgreSQL: key announcements and receipt
 * updates are public once made (EncryptionKeyGet, WorkOrderReceiptUpdateRetrieve), so posting one again
 * must not roll a worker's key back, grow a receipt, or move its status backwards.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bytesToBase64, ecdsaSignDigest, generateEncryptionKey, generateSigningKey, textToHex, type SigningKeyPair } from '../../src/crypto/index.js';
import { encryptionKeyAnnouncementHash, ErrorCode, ReceiptStatus } from '../../src/protocol/index.js';
import type { EncryptionKeySet } from '../../src/protocol/messages.js';
import { JsonRpcClient, RpcCallError, type TcfClient } from '../../src/client/index.js';
import { buildWorkOrder } from '../../src/workorder/index.js';
import { startTestNode, type TestNode } from '../helpers/in-process-node.js';
import { storesUnderTest } from '../helpers/postgres.js';

const OPERATOR_TOKEN = 'replay-test-operator-token';
const LAST_UPDATE = 0xffffffff;

function refusedWith(code: number, pattern?: RegExp) {
  return (error: unknown) => error instanceof RpcCallError && error.code === code && (!pattern || pattern.test(error.message));
}

function signedAnnouncement(workerId: string, signer: SigningKeyPair, encryptionKey: string, encryptionKeyNonce: string, tag = ''): EncryptionKeySet {
  const announcement = { workerId, encryptionKey, encryptionKeyNonce, tag };
  return { ...announcement, signature: bytesToBase64(ecdsaSignDigest(signer.privateKey, encryptionKeyAnnouncementHash(announcement))) };
}

const stores = await storesUnderTest('tcf_replay');

for (const { name, store, skip } of stores) {
  describe(`replays (${name})`, { skip }, () => {
    let test: TestNode;
    let client: TcfClient;
    let operator: JsonRpcClient;
    let workerId: string;

    before(async () => {
      test = await startTestNode('replay', { listener: { operatorToken: OPERATOR_TOKEN }, ...(store ? { store } : {}) });
      ({ client, workerId } = test);
      operator = new JsonRpcClient(test.node.url, { operatorToken: OPERATOR_TOKEN });
    });

    after(() => test.stop());

    /** A worker whose signing key the test holds, registered by the operator, so the test can sign its announcements. */
    async function workerWeSignFor(): Promise<{ id: string; signer: SigningKeyPair }> {
      const template = await client.getWorker(workerId);
      const signer = generateSigningKey();
      const id = crypto.randomBytes(32).toString('hex');
      const details = {
        ...template.details,
        workerTypeData: { ...template.details.workerTypeData, verificationKey: signer.publicKeyPem, encryptionKey: generateEncryptionKey(2048).publicKeyPem },
      };
      await operator.call('WorkerRegister', { workerId: id, workerType: template.workerType, organizationId: template.organizationId, applicationTypeId: template.applicationTypeId, details });
      return { id, signer };
    }

    it('EncryptionKeySet is an operator method: a correctly signed announcement from anyone else is refused (ACCESS_DENIED)', async () => {
      const { id, signer } = await workerWeSignFor();
      const before = await client.rpc.call('EncryptionKeyGet', { workerId: id });
      const announcement = signedAnnouncement(id, signer, generateEncryptionKey(2048).publicKeyPem, 'n-anyone');
      await assert.rejects(client.rpc.call('EncryptionKeySet', announcement), refusedWith(ErrorCode.ACCESS_DENIED, /operator/));
      assert.equal((await client.rpc.call('EncryptionKeyGet', { workerId: id })).encryptionKey, before.encryptionKey);
      await operator.call('EncryptionKeySet', announcement);
      assert.equal((await client.rpc.call('EncryptionKeyGet', { workerId: id })).encryptionKey, announcement.encryptionKey);
    });

    it('an old announcement replayed (its own nonce, or a fresh nonce around a retired key) does not roll the key back', async () => {
      const { id, signer } = await workerWeSignFor();
      const first = signedAnnouncement(id, signer, generateEncryptionKey(2048).publicKeyPem, 'n-1');
      const second = signedAnnouncement(id, signer, generateEncryptionKey(2048).publicKeyPem, 'n-2');
      await operator.call('EncryptionKeySet', first);
      await operator.call('EncryptionKeySet', second);
      // The first announcement exactly as EncryptionKeyGet served it.
      await assert.rejects(operator.call('EncryptionKeySet', first), refusedWith(ErrorCode.INVALID_PARAMETER, /encryptionKeyNonce: was already used/));
      // The retired key inside a fresh, validly signed announcement.
      await assert.rejects(operator.call('EncryptionKeySet', signedAnnouncement(id, signer, first.encryptionKey, 'n-3')), refusedWith(ErrorCode.INVALID_PARAMETER, /encryptionKey: this worker published this key before/));
      // The key the worker registered with is retired too once replaced, and so is the current key.
      const registered = await workerWeSignFor();
      const registeredKey = (await client.rpc.call('EncryptionKeyGet', { workerId: registered.id })).encryptionKey;
      await operator.call('EncryptionKeySet', signedAnnouncement(registered.id, registered.signer, generateEncryptionKey(2048).publicKeyPem, 'r-1'));
      await assert.rejects(operator.call('EncryptionKeySet', signedAnnouncement(registered.id, registered.signer, registeredKey, 'r-2')), refusedWith(ErrorCode.INVALID_PARAMETER, /published this key before/));
      await assert.rejects(operator.call('EncryptionKeySet', signedAnnouncement(id, signer, second.encryptionKey, 'n-4')), refusedWith(ErrorCode.INVALID_PARAMETER, /published this key before/));

      // A re-registration replaces the record but not the history: the old announcement stays refused.
      const record = await client.getWorker(id);
      await operator.call('WorkerRegister', { workerId: id, workerType: record.workerType, organizationId: record.organizationId, applicationTypeId: record.applicationTypeId, details: record.details });
      await assert.rejects(operator.call('EncryptionKeySet', first), refusedWith(ErrorCode.INVALID_PARAMETER, /already used/));
      const current = await client.rpc.call('EncryptionKeyGet', { workerId: id });
      assert.equal(current.encryptionKey, second.encryptionKey);
      assert.equal(current.encryptionKeyNonce, 'n-2');
    });

    it("the node's own rotation still works, again and again, and its announcements cannot be replayed", async () => {
      const served = [];
      for (const tag of ['r1', 'r2', 'r3']) {
        await test.node.manager!.rotateEncryptionKey(workerId, tag);
        served.push(await client.rpc.call('EncryptionKeyGet', { workerId }));
      }
      assert.equal(new Set(served.map((announcement) => announcement.encryptionKey)).size, 3);
      const opened = await client.run({ workerId, workload: 'echo-result', inputs: ['after rotations'], responseTimeoutMs: 10_000 });
      assert.equal(opened.outData[0]!.data.toString(), 'RESULT: after rotations');
      const [oldest] = served;
      await assert.rejects(operator.call('EncryptionKeySet', { ...oldest!, tag: oldest!.tag }), refusedWith(ErrorCode.INVALID_PARAMETER, /already used/));
      assert.equal((await client.rpc.call('EncryptionKeyGet', { workerId })).encryptionKey, served[2]!.encryptionKey);
    });

    /** A finished work order with its requester's receipt (the worker's completion update is its first update). */
    async function receiptFor(workload: string, requester: SigningKeyPair): Promise<string> {
      const worker = await client.trustedWorker(workerId);
      const built = buildWorkOrder({ worker: worker.keys, workloadId: textToHex(workload), inData: [{ data: 'replay' }], signer: requester, responseTimeoutMSecs: 10_000 });
      await client.rpc.call('WorkOrderSubmit', built.params).catch((error: unknown) => {
        if (!(error instanceof RpcCallError)) throw error;
      });
      await client.createReceipt({ workOrderId: built.params.workOrderId, built, worker }, requester);
      return built.params.workOrderId;
    }

    it("the worker's update replayed 50 times: every replay refused, updateCount stays 1", async () => {
      const requester = generateSigningKey();
      const workOrderId = await receiptFor('echo-result', requester);
      const { updateCount, ...update } = await client.retrieveReceiptUpdate(workOrderId, LAST_UPDATE);
      assert.equal(updateCount, 1);
      assert.equal(update.updateType, ReceiptStatus.PROCESSED);
      const replays = await Promise.allSettled(Array.from({ length: 50 }, () => client.rpc.call('WorkOrderReceiptUpdate', update)));
      for (const replay of replays) {
        assert.equal(replay.status, 'rejected');
        assert.ok(refusedWith(ErrorCode.INVALID_PARAMETER, /already on the receipt/)(replay.reason), String(replay.reason));
      }
      assert.equal((await client.retrieveReceiptUpdate(workOrderId, LAST_UPDATE)).updateCount, 1);
      assert.equal((await client.retrieveReceipt(workOrderId)).receiptCurrentStatus, ReceiptStatus.PROCESSED);
    });

    it("the requester's own update, sent 20 times at once, is recorded once", async () => {
      const requester = generateSigningKey();
      const workOrderId = await receiptFor('echo-result', requester);
      const sent = await Promise.allSettled(Array.from({ length: 20 }, () => client.updateReceipt(workOrderId, requester, ReceiptStatus.COMPLETED, 'accepted')));
      assert.equal(sent.filter((outcome) => outcome.status === 'fulfilled').length, 1);
      assert.equal((await client.retrieveReceiptUpdate(workOrderId, LAST_UPDATE)).updateCount, 2);
    });

    it("an old FAILED update replayed after the requester's REJECTED is refused and the status stays REJECTED", async () => {
      const requester = generateSigningKey();
      const workOrderId = await receiptFor('no-such-workload', requester);
      const { updateCount: _count, ...failed } = await client.retrieveReceiptUpdate(workOrderId, LAST_UPDATE);
      assert.equal(failed.updateType, ReceiptStatus.FAILED);
      await client.updateReceipt(workOrderId, requester, ReceiptStatus.REJECTED, 'refused: the work order failed');
      await assert.rejects(client.rpc.call('WorkOrderReceiptUpdate', failed), refusedWith(ErrorCode.INVALID_PARAMETER));
      assert.equal((await client.retrieveReceipt(workOrderId)).receiptCurrentStatus, ReceiptStatus.REJECTED);
      assert.equal((await client.retrieveReceiptUpdate(workOrderId, LAST_UPDATE)).updateCount, 2);
      // REJECTED is final, whoever signs and whatever the data.
      await assert.rejects(client.updateReceipt(workOrderId, requester, ReceiptStatus.COMPLETED, 'changed my mind'), refusedWith(ErrorCode.INVALID_PARAMETER, /REJECTED, a final status/));
      await assert.rejects(client.updateReceipt(workOrderId, requester, 256, 'a note'), refusedWith(ErrorCode.INVALID_PARAMETER, /final status/));
    });

    it('status rules: legal transitions accepted, a failed work order never becomes PROCESSED or COMPLETED, application statuses do not launder one', async () => {
      const requester = generateSigningKey();
      const processed = await receiptFor('echo-result', requester);
      await client.updateReceipt(processed, requester, 300, 'an application note');
      await assert.rejects(client.updateReceipt(processed, requester, ReceiptStatus.REJECTED, 'too late'), refusedWith(ErrorCode.INVALID_PARAMETER, /PROCESSED receipt cannot become REJECTED/));
      await assert.rejects(client.updateReceipt(processed, requester, ReceiptStatus.PENDING, 'again'), refusedWith(ErrorCode.INVALID_PARAMETER, /cannot become PENDING/));
      await client.updateReceipt(processed, requester, ReceiptStatus.PROCESSED, 'checked part 1');
      await client.updateReceipt(processed, requester, ReceiptStatus.COMPLETED, 'accepted');
      assert.equal((await client.retrieveReceipt(processed)).receiptCurrentStatus, ReceiptStatus.COMPLETED);
      assert.equal((await client.retrieveReceiptUpdate(processed, LAST_UPDATE)).updateCount, 4);

      const failed = await receiptFor('no-such-workload', requester);
      await assert.rejects(client.updateReceipt(failed, requester, ReceiptStatus.COMPLETED, 'accepted'), refusedWith(ErrorCode.INVALID_PARAMETER, /FAILED receipt cannot become COMPLETED/));
      await assert.rejects(client.updateReceipt(failed, requester, ReceiptStatus.PROCESSED, 'x'), refusedWith(ErrorCode.INVALID_PARAMETER, /FAILED receipt cannot become PROCESSED/));
      await client.updateReceipt(failed, requester, 301, 'looking into it');
      await assert.rejects(client.updateReceipt(failed, requester, ReceiptStatus.PENDING, 'retry'), refusedWith(ErrorCode.INVALID_PARAMETER, /FAILED receipt cannot become PENDING/));
      await client.updateReceipt(failed, requester, ReceiptStatus.REJECTED, 'refused');
      assert.equal((await client.retrieveReceipt(failed)).receiptCurrentStatus, ReceiptStatus.REJECTED);
    });
  });
}
