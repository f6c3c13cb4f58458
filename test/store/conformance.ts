/**
 * The Store conformance suite: every behaviour the Store interface promises, run against each real
 * engine (test/store/lmdb.test.ts, test/store/postgres.test.ts). A new backend is done when it passes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReceiptCreate, ReceiptUpdate, WorkerRecord, WorkOrderRequest } from '../../src/protocol/index.js';
import type { NewWorkOrder, Store, StoreEvent } from '../../src/store/index.js';

export interface StoreUnderTest {
  store: Store;
  cleanup(): Promise<void>;
}

const hex = (n: number, width = 64) => n.toString(16).padStart(width, '0');

function worker(n: number, overrides: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    workerId: hex(n),
    workerType: 1,
    organizationId: 'aa',
    applicationTypeId: ['bb'],
    status: 1,
    details: {
      hashingAlgorithm: 'SHA-256',
      signingAlgorithm: 'SECP256K1',
      keyEncryptionAlgorithm: 'RSA-OAEP-3072',
      dataEncryptionAlgorithm: 'AES-GCM-256',
      workerTypeData: { verificationKey: 'v', encryptionKey: 'e', encryptionKeySignature: '00' },
    },
    ...overrides,
  };
}

function request(workOrderId: string, workerId: string): WorkOrderRequest {
  return {
    responseTimeoutMSecs: 0,
    payloadFormat: 'JSON-RPC',
    workOrderId,
    workerId,
    workloadId: '6563686f2d726573756c74',
    requesterId: 'cc',
    encryptedSessionKey: 'ab',
    requesterNonce: '01',
    encryptedRequestHash: 'cd',
    inData: [{ index: 0, data: 'SGVsbG8=' }],
  };
}

let orderCounter = 0;
function order(workerId: string, requesterId = 'cc'): NewWorkOrder {
  orderCounter += 1;
  const workOrderId = hex(orderCounter * 7919 + 1_000_000);
  return { workOrderId, workerId, requesterId, request: request(workOrderId, workerId), submittedAt: Date.now() };
}

function receipt(workOrderId: string, fields: Partial<ReceiptCreate> = {}): ReceiptCreate {
  return {
    workOrderId,
    workerServiceId: 'dd',
    workerId: 'ee',
    requesterId: 'cc',
    receiptCreateStatus: 0,
    workOrderRequestHash: 'AA==',
    requesterGeneratedNonce: '1',
    requesterSignature: 'AA==',
    signatureRules: 'SHA-256/SECP256K1',
    receiptVerificationKey: 'k',
    ...fields,
  };
}

function update(workOrderId: string, updateType: number): ReceiptUpdate {
  return { workOrderId, updaterId: 'ee', updateType, updateData: 'x', updateSignature: 'AA==', signatureRules: 'SHA-256/SECP256K1', receiptVerificationKey: 'k' };
}

const RESULT = { result: { workOrderId: 'x', workloadId: 'x', workerId: 'x', requesterId: 'x', workerNonce: 'n', workerSignature: 'AA==', outData: [] } };

export function storeConformance(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`Store conformance: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    before(async () => {
      subject = await open();
      store = subject.store;
    });
    after(async () => {
      await subject.cleanup();
    });

    it('puts, gets, updates and replaces workers', async () => {
      await store.putWorker(worker(1));
      assert.deepEqual(await store.getWorker(hex(1)), worker(1));
      assert.equal(await store.getWorker(hex(999)), undefined);
      const updated = await store.updateWorker(hex(1), { status: 2 });
      assert.equal(updated?.status, 2);
      assert.equal((await store.getWorker(hex(1)))?.status, 2);
      assert.equal(await store.updateWorker(hex(999), { status: 2 }), undefined);
      await store.putWorker(worker(1, { workerType: 2 }));
      assert.equal((await store.getWorker(hex(1)))?.workerType, 2);
    });

    it('looks workers up by each filter and pages through them in id order', async () => {
      for (let n = 10; n < 15; n += 1) await store.putWorker(worker(n, { workerType: 3, organizationId: 'f0', applicationTypeId: ['a1', 'a2'] }));
      await store.putWorker(worker(20, { workerType: 3, organizationId: 'f1', applicationTypeId: ['a2'] }));
      const byType = await store.lookUpWorkers({ workerType: 3 }, undefined, 100);
      assert.equal(byType.totalCount, 6);
      assert.deepEqual(byType.ids, [10, 11, 12, 13, 14, 20].map((n) => hex(n)));
      assert.equal(byType.nextCursor, '');
      assert.equal((await store.lookUpWorkers({ organizationId: 'F0' }, undefined, 100)).totalCount, 5);
      assert.equal((await store.lookUpWorkers({ applicationTypeId: 'a1' }, undefined, 100)).totalCount, 5);
      assert.deepEqual((await store.lookUpWorkers({ workerType: 3, applicationTypeId: 'a2', organizationId: 'f1' }, undefined, 100)).ids, [hex(20)]);
      // The replaced worker 1 left no stale index entries behind.
      assert.equal((await store.lookUpWorkers({ workerType: 1 }, undefined, 100)).totalCount, 0);

      const first = await store.lookUpWorkers({ workerType: 3 }, undefined, 4);
      assert.equal(first.totalCount, 6);
      assert.deepEqual(first.ids, [10, 11, 12, 13].map((n) => hex(n)));
      assert.equal(first.nextCursor, hex(13));
      const second = await store.lookUpWorkers({ workerType: 3 }, first.nextCursor, 4);
      assert.deepEqual(second.ids, [hex(14), hex(20)]);
      assert.equal(second.nextCursor, '');
      assert.equal(second.totalCount, 6);
    });

    it('accepts a work order once, and refuses past the pending cap without writing', async () => {
      await store.putWorker(worker(30));
      const first = order(hex(30));
      assert.equal(await store.submitWorkOrder(first, { maxPending: 1000 }), 'accepted');
      assert.equal(await store.submitWorkOrder({ ...first, submittedAt: 1 }, { maxPending: 1000 }), 'duplicate');
      const stored = await store.getWorkOrder(first.workOrderId);
      assert.equal(stored?.state, 'queued');
      assert.equal(stored?.attempts, 0);
      assert.deepEqual(stored?.request, first.request);
      const pending = await store.pendingCount();
      const refused = order(hex(30));
      assert.equal(await store.submitWorkOrder(refused, { maxPending: pending }), 'busy');
      assert.equal(await store.getWorkOrder(refused.workOrderId), undefined);
      assert.equal(await store.pendingCount(), pending);
    });

    it('claims in FIFO order, only for the named workers, counting attempts', async () => {
      await store.putWorker(worker(40));
      await store.putWorker(worker(41));
      const a = order(hex(40));
      const b = order(hex(41));
      const c = order(hex(40));
      for (const o of [a, b, c]) assert.equal(await store.submitWorkOrder(o, { maxPending: 1000 }), 'accepted');
      const first = await store.claimWorkOrder('m1', 60_000, [hex(40)]);
      assert.equal(first?.workOrderId, a.workOrderId);
      assert.equal(first?.state, 'processing');
      assert.equal(first?.attempts, 1);
      assert.equal(first?.claimedBy, 'm1');
      assert.deepEqual(first?.request, a.request);
      assert.equal((await store.claimWorkOrder('m1', 60_000, [hex(40)]))?.workOrderId, c.workOrderId);
      assert.equal(await store.claimWorkOrder('m1', 60_000, [hex(40)]), undefined);
      assert.equal((await store.claimWorkOrder('m2', 60_000, [hex(41)]))?.workOrderId, b.workOrderId);
      assert.equal(await store.releaseClaimsOf('m1'), 2);
      const again = await store.claimWorkOrder('m3', 60_000, [hex(40)]);
      assert.equal(again?.workOrderId, a.workOrderId, 'a released work order keeps its place at the head of the queue');
      assert.equal(again?.attempts, 2);
    });

    it('expires leases: releaseExpiredClaims requeues only lapsed claims; renewClaim extends them', async () => {
      await store.putWorker(worker(50));
      const lapsing = order(hex(50));
      const kept = order(hex(50));
      await store.submitWorkOrder(lapsing, { maxPending: 1000 });
      await store.submitWorkOrder(kept, { maxPending: 1000 });
      await store.claimWorkOrder('short', 1, [hex(50)]);
      await store.claimWorkOrder('long', 60_000, [hex(50)]);
      assert.equal(await store.renewClaim(kept.workOrderId, 'long', 120_000), true);
      assert.equal(await store.renewClaim(kept.workOrderId, 'someone-else', 120_000), false);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await store.releaseExpiredClaims(Date.now()), 1);
      assert.equal((await store.getWorkOrder(lapsing.workOrderId))?.state, 'queued');
      assert.equal((await store.getWorkOrder(kept.workOrderId))?.state, 'processing');
      assert.equal((await store.claimWorkOrder('taker', 60_000, [hex(50)]))?.workOrderId, lapsing.workOrderId);
      // The lapsed owner can no longer record an outcome: the taker holds it.
      assert.equal(await store.finishWorkOrder(lapsing.workOrderId, 'short', RESULT), false);
      assert.equal(await store.finishWorkOrder(lapsing.workOrderId, 'taker', RESULT), true);
      assert.equal(await store.finishWorkOrder(kept.workOrderId, 'long', { error: { code: 10, message: 'boom' } }), true);
      assert.equal((await store.getWorkOrder(kept.workOrderId))?.state, 'failed');
    });

    it('finishes exactly once, stores the outcome and appends the completion update to an existing receipt', async () => {
      await store.putWorker(worker(60));
      const o = order(hex(60));
      await store.submitWorkOrder(o, { maxPending: 1000 });
      assert.equal(await store.createReceipt(receipt(o.workOrderId)), 'created');
      const pendingBefore = await store.pendingCount();
      await store.claimWorkOrder('m', 60_000, [hex(60)]);
      assert.equal(await store.finishWorkOrder(o.workOrderId, 'wrong-owner', RESULT, update(o.workOrderId, 2)), false);
      assert.equal((await store.getReceipt(o.workOrderId))?.updates.length, 0, 'a refused finish writes nothing');
      assert.equal(await store.finishWorkOrder(o.workOrderId, 'm', RESULT, update(o.workOrderId, 2)), true);
      assert.equal(await store.finishWorkOrder(o.workOrderId, 'm', RESULT, update(o.workOrderId, 2)), false);
      const done = await store.getWorkOrder(o.workOrderId);
      assert.equal(done?.state, 'completed');
      assert.deepEqual(done?.outcome, RESULT);
      assert.equal(done?.claimedBy, undefined);
      assert.deepEqual(done?.completionUpdate, update(o.workOrderId, 2));
      assert.equal(await store.pendingCount(), pendingBefore - 1);
      const stored = await store.getReceipt(o.workOrderId);
      assert.equal(stored?.updates.length, 1);
      assert.equal(stored?.currentStatus, 2);
    });

    it('creates a receipt once; a receipt created after completion gets the completion update at once', async () => {
      await store.putWorker(worker(70));
      const o = order(hex(70));
      await store.submitWorkOrder(o, { maxPending: 1000 });
      await store.claimWorkOrder('m', 60_000, [hex(70)]);
      await store.finishWorkOrder(o.workOrderId, 'm', RESULT, update(o.workOrderId, 2));
      assert.equal(await store.createReceipt(receipt(o.workOrderId)), 'created');
      assert.equal(await store.createReceipt(receipt(o.workOrderId)), 'exists');
      const stored = await store.getReceipt(o.workOrderId);
      assert.deepEqual(stored?.updates, [update(o.workOrderId, 2)]);
      assert.equal(stored?.currentStatus, 2);
      assert.equal(await store.appendReceiptUpdate(o.workOrderId, update(o.workOrderId, 1)), 'appended');
      assert.equal((await store.getReceipt(o.workOrderId))?.currentStatus, 1);
      assert.equal(await store.appendReceiptUpdate(hex(424242), update(hex(424242), 1)), 'no-receipt');
      assert.equal(await store.getReceipt(hex(424242)), undefined);
    });

    it('looks receipts up by each filter and by current status (255 = any), with paging', async () => {
      const ids = [81, 82, 83, 84, 85].map((n) => hex(n));
      for (const [position, id] of ids.entries()) {
        await store.createReceipt(receipt(id, { workerServiceId: 'a0', workerId: position < 3 ? 'b1' : 'b2', requesterId: 'c9' }));
      }
      await store.appendReceiptUpdate(ids[0]!, update(ids[0]!, 1));
      assert.equal((await store.lookUpReceipts({ workerServiceId: 'a0' }, undefined, 100)).totalCount, 5);
      assert.deepEqual((await store.lookUpReceipts({ workerId: 'b2' }, undefined, 100)).ids, ids.slice(3));
      assert.equal((await store.lookUpReceipts({ requesterId: 'C9' }, undefined, 100)).totalCount, 5);
      assert.deepEqual((await store.lookUpReceipts({ requesterId: 'c9', receiptStatus: 1 }, undefined, 100)).ids, [ids[0]]);
      assert.equal((await store.lookUpReceipts({ requesterId: 'c9', receiptStatus: 0 }, undefined, 100)).totalCount, 4);
      assert.equal((await store.lookUpReceipts({ requesterId: 'c9', receiptStatus: 255 }, undefined, 100)).totalCount, 5);
      const page1 = await store.lookUpReceipts({ requesterId: 'c9' }, undefined, 2);
      const page2 = await store.lookUpReceipts({ requesterId: 'c9' }, page1.nextCursor, 2);
      const page3 = await store.lookUpReceipts({ requesterId: 'c9' }, page2.nextCursor, 2);
      assert.deepEqual([...page1.ids, ...page2.ids, ...page3.ids], ids);
      assert.equal(page3.nextCursor, '');
      assert.equal(page2.totalCount, 5);
    });

    it('tells subscribers about submissions and outcomes', async () => {
      await store.putWorker(worker(90));
      const events: StoreEvent[] = [];
      const unsubscribe = store.subscribe((event) => events.push(event));
      const o = order(hex(90));
      await store.submitWorkOrder(o, { maxPending: 1000 });
      await store.claimWorkOrder('m', 60_000, [hex(90)]);
      await store.finishWorkOrder(o.workOrderId, 'm', RESULT);
      const deadline = Date.now() + 5_000;
      while (events.filter((event) => 'workOrderId' in event && event.workOrderId === o.workOrderId).length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      unsubscribe();
      assert.ok(events.some((event) => event.type === 'submitted' && event.workOrderId === o.workOrderId && event.workerId === hex(90)));
      assert.ok(events.some((event) => event.type === 'finished' && event.workOrderId === o.workOrderId));
    });

    it('never hands one work order to two concurrent claimers', async () => {
      await store.putWorker(worker(100));
      const orders = Array.from({ length: 10 }, () => order(hex(100)));
      for (const o of orders) await store.submitWorkOrder(o, { maxPending: 1000 });
      const claims = await Promise.all(Array.from({ length: 20 }, (_, n) => store.claimWorkOrder(`racer-${n}`, 60_000, [hex(100)])));
      const won = claims.filter((claim) => claim !== undefined).map((claim) => claim!.workOrderId);
      assert.equal(won.length, 10);
      assert.equal(new Set(won).size, 10);
      assert.deepEqual([...won].sort(), orders.map((o) => o.workOrderId).sort());
    });
  });
}
