/**
 * The Store conformance suite: every behaviour the Store interface promises, run against each real
 * engine (test/store/lmdb.test.ts, test/store/postgres.test.ts). Each test gets a fresh, empty store,
 * so counts and queue order are exact. A new backend is done when it passes.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ReceiptCreate, ReceiptUpdate, WorkerRecord, WorkOrderRequest } from '../../src/protocol/index.js';
import type { NewWorkOrder, Store, StoreEvent, WorkOrderOutcome } from '../../src/store/index.js';

export interface StoreUnderTest {
  store: Store;
  cleanup(): Promise<void>;
}

/** A 32-byte id in canonical form whose order follows `n`. */
export const id = (n: number): string => n.toString(16).padStart(64, '0');

export function workerRecord(n: number, fields: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    workerId: id(n),
    workerType: 1,
    organizationId: 'aa01',
    applicationTypeId: ['bb01'],
    status: 1,
    details: {
      hashingAlgorithm: 'SHA-256',
      signingAlgorithm: 'SECP256K1',
      keyEncryptionAlgorithm: 'RSA-OAEP-3072',
      dataEncryptionAlgorithm: 'AES-GCM-256',
      workerTypeData: { verificationKey: 'verification-pem', encryptionKey: 'encryption-pem', encryptionKeySignature: '00' },
    },
    ...fields,
  };
}

function workOrderRequest(workOrderId: string, workerId: string, requesterId: string): WorkOrderRequest {
  return {
    responseTimeoutMSecs: 0,
    payloadFormat: 'JSON-RPC',
    workOrderId,
    workerId,
    workloadId: '6563686f2d726573756c74',
    requesterId,
    encryptedSessionKey: 'ab',
    requesterNonce: '01',
    encryptedRequestHash: 'cd',
    inData: [{ index: 0, data: 'SGVsbG8=' }],
  };
}

export function newWorkOrder(n: number, workerId: string, requesterId = 'cc01'): NewWorkOrder {
  const workOrderId = id(1_000_000 + n);
  return { workOrderId, workerId, requesterId, request: workOrderRequest(workOrderId, workerId, requesterId), submittedAt: 1_700_000_000_000 + n };
}

export function receiptCreate(workOrderId: string, fields: Partial<ReceiptCreate> = {}): ReceiptCreate {
  return {
    workOrderId,
    workerServiceId: 'dd01',
    workerId: 'ee01',
    requesterId: 'cc01',
    receiptCreateStatus: 0,
    workOrderRequestHash: 'AA==',
    requesterGeneratedNonce: '1',
    requesterSignature: 'AA==',
    signatureRules: 'SHA-256/SECP256K1',
    receiptVerificationKey: 'receipt-pem',
    ...fields,
  };
}

function receiptUpdate(workOrderId: string, updateType: number, updateData = `update ${updateType}`): ReceiptUpdate {
  return { workOrderId, updaterId: 'ee01', updateType, updateData, updateSignature: 'AA==', signatureRules: 'SHA-256/SECP256K1', receiptVerificationKey: 'receipt-pem' };
}

function resultOutcome(workOrderId: string): WorkOrderOutcome {
  return { result: { workOrderId, workloadId: '00', workerId: '00', requesterId: '00', workerNonce: 'n', workerSignature: 'AA==', outData: [{ index: 0, data: 'T0s=' }] } };
}

const ERROR_OUTCOME: WorkOrderOutcome = { error: { code: 5, message: 'workload failed' } };
const ROOMY = { maxPending: 1_000 };
const MINUTE = 60_000;

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function storeConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`Store conformance: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    async function submitAll(orders: NewWorkOrder[]): Promise<void> {
      for (const order of orders) assert.equal(await store.submitWorkOrder(order, ROOMY), 'accepted');
    }

    async function allPages(lookUp: (after: string | undefined) => Promise<{ totalCount: number; ids: string[]; nextCursor: string }>, limit: number, totalCount: number): Promise<string[][]> {
      const pages: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await lookUp(after);
        assert.equal(page.totalCount, totalCount, 'every page reports the count of all matches');
        assert.ok(page.ids.length <= limit);
        pages.push(page.ids);
        if (page.nextCursor === '') return pages;
        assert.equal(page.nextCursor, page.ids[page.ids.length - 1], 'the cursor is the last id of the page');
        after = page.nextCursor;
        assert.ok(pages.length < 100, 'paging terminates');
      }
    }

    describe('workers', () => {
      it('stores, reads, updates and replaces a worker', async () => {
        await store.putWorker(workerRecord(1));
        assert.deepEqual(await store.getWorker(id(1)), workerRecord(1));
        assert.equal(await store.getWorker(id(2)), undefined);

        const disabled = await store.updateWorker(id(1), { status: 3 });
        assert.deepEqual(disabled, { ...workerRecord(1), status: 3 });
        assert.deepEqual(await store.getWorker(id(1)), { ...workerRecord(1), status: 3 });

        const details = { ...workerRecord(1).details, workOrderPayloadFormats: 'JSON-RPC' };
        assert.deepEqual(await store.updateWorker(id(1), { details }), { ...workerRecord(1), status: 3, details });
        assert.deepEqual(await store.getWorker(id(1)), { ...workerRecord(1), status: 3, details });

        assert.equal(await store.updateWorker(id(2), { status: 2 }), undefined);
        assert.equal(await store.getWorker(id(2)), undefined, 'updating an unknown worker does not create it');

        await store.putWorker(workerRecord(1, { workerType: 2, organizationId: 'aa02', applicationTypeId: ['bb02'] }));
        assert.deepEqual(await store.getWorker(id(1)), workerRecord(1, { workerType: 2, organizationId: 'aa02', applicationTypeId: ['bb02'] }));
      });

      it('looks workers up by type, organization and application type, alone and combined', async () => {
        await store.putWorker(workerRecord(1, { workerType: 1, organizationId: 'a0', applicationTypeId: ['b1', 'b2'] }));
        await store.putWorker(workerRecord(2, { workerType: 2, organizationId: 'a0', applicationTypeId: ['b2'] }));
        await store.putWorker(workerRecord(3, { workerType: 1, organizationId: 'a1', applicationTypeId: [] }));
        await store.putWorker(workerRecord(4, { workerType: 3, organizationId: 'A1', applicationTypeId: ['0xB1'] }));
        const ids = async (filter: Parameters<Store['lookUpWorkers']>[0]) => {
          const page = await store.lookUpWorkers(filter, undefined, 100);
          assert.equal(page.totalCount, page.ids.length);
          assert.equal(page.nextCursor, '');
          return page.ids;
        };
        assert.deepEqual(await ids({}), [id(1), id(2), id(3), id(4)]);
        assert.deepEqual(await ids({ workerType: 1 }), [id(1), id(3)]);
        assert.deepEqual(await ids({ workerType: 3 }), [id(4)]);
        assert.deepEqual(await ids({ organizationId: 'a0' }), [id(1), id(2)]);
        assert.deepEqual(await ids({ organizationId: '0xA1' }), [id(3), id(4)], 'filters compare canonical ids');
        assert.deepEqual(await ids({ applicationTypeId: 'b1' }), [id(1), id(4)]);
        assert.deepEqual(await ids({ applicationTypeId: 'b2' }), [id(1), id(2)]);
        assert.deepEqual(await ids({ workerType: 1, organizationId: 'a0' }), [id(1)]);
        assert.deepEqual(await ids({ workerType: 1, applicationTypeId: 'b2' }), [id(1)]);
        assert.deepEqual(await ids({ organizationId: 'a1', applicationTypeId: 'b1' }), [id(4)]);
        assert.deepEqual(await ids({ workerType: 2, organizationId: 'a0', applicationTypeId: 'b2' }), [id(2)]);
        assert.deepEqual(await ids({ workerType: 2, organizationId: 'a1' }), []);
        assert.deepEqual(await ids({ applicationTypeId: 'ff' }), []);
      });

      it('drops a replaced or updated worker from the lookups it no longer matches', async () => {
        await store.putWorker(workerRecord(1, { workerType: 1, organizationId: 'a0', applicationTypeId: ['b1', 'b2'] }));
        await store.putWorker(workerRecord(1, { workerType: 2, organizationId: 'a1', applicationTypeId: ['b2', 'b3'] }));
        assert.equal((await store.lookUpWorkers({ workerType: 1 }, undefined, 10)).totalCount, 0);
        assert.equal((await store.lookUpWorkers({ organizationId: 'a0' }, undefined, 10)).totalCount, 0);
        assert.equal((await store.lookUpWorkers({ applicationTypeId: 'b1' }, undefined, 10)).totalCount, 0);
        assert.deepEqual((await store.lookUpWorkers({ workerType: 2, organizationId: 'a1', applicationTypeId: 'b3' }, undefined, 10)).ids, [id(1)]);
        assert.deepEqual((await store.lookUpWorkers({ applicationTypeId: 'b2' }, undefined, 10)).ids, [id(1)]);
        assert.equal((await store.lookUpWorkers({}, undefined, 10)).totalCount, 1);
        await store.updateWorker(id(1), { status: 2 });
        assert.deepEqual((await store.lookUpWorkers({ workerType: 2 }, undefined, 10)).ids, [id(1)], 'a status change keeps the index entries');
      });

      it('pages through lookups in ascending id order, LookUp then LookUpNext from the cursor', async () => {
        // Inserted out of order: the page order must come from the ids, not from insertion.
        const numbers = [7, 3, 11, 1, 9, 5, 10, 2, 8, 4, 6];
        for (const n of numbers) await store.putWorker(workerRecord(n, { workerType: n % 2 === 0 ? 2 : 1, applicationTypeId: ['b1'] }));
        const sorted = [...numbers].sort((a, b) => a - b).map(id);

        const everyone = await allPages((after) => store.lookUpWorkers({}, after, 3), 3, 11);
        assert.deepEqual(everyone, [sorted.slice(0, 3), sorted.slice(3, 6), sorted.slice(6, 9), sorted.slice(9)]);

        const byApp = await allPages((after) => store.lookUpWorkers({ applicationTypeId: 'b1' }, after, 4), 4, 11);
        assert.deepEqual(byApp.flat(), sorted);
        assert.equal(byApp.length, 3);

        const odd = await allPages((after) => store.lookUpWorkers({ workerType: 1, applicationTypeId: 'b1' }, after, 2), 2, 6);
        assert.deepEqual(odd, [[id(1), id(3)], [id(5), id(7)], [id(9), id(11)]], 'an exact multiple of the page size ends with an empty cursor');

        const fromBetween = await store.lookUpWorkers({ workerType: 2 }, id(5), 10);
        assert.deepEqual(fromBetween.ids, [id(6), id(8), id(10)], 'the cursor need not be a matching id');
        assert.equal(fromBetween.totalCount, 5);
        const pastTheEnd = await store.lookUpWorkers({ workerType: 2 }, id(10), 10);
        assert.deepEqual(pastTheEnd, { totalCount: 5, ids: [], nextCursor: '' });
      });
    });

    describe('submission', () => {
      it('accepts a work order and records it queued, request and all', async () => {
        const order = newWorkOrder(1, id(1));
        assert.equal(await store.submitWorkOrder(order, ROOMY), 'accepted');
        const stored = await store.getWorkOrder(order.workOrderId);
        assert.deepEqual(stored, { ...order, state: 'queued', attempts: 0 });
        assert.equal(await store.pendingCount(), 1);
        assert.equal(await store.getWorkOrder(id(42)), undefined);
      });

      it('answers duplicate for a known id and keeps the first submission', async () => {
        const order = newWorkOrder(1, id(1));
        await submitAll([order]);
        assert.equal(await store.submitWorkOrder({ ...order, workerId: id(2), submittedAt: 1 }, ROOMY), 'duplicate');
        assert.deepEqual(await store.getWorkOrder(order.workOrderId), { ...order, state: 'queued', attempts: 0 });
        assert.equal(await store.pendingCount(), 1);
        assert.equal((await store.claimWorkOrder('m', MINUTE, [id(2)])), undefined, 'the duplicate was not enqueued');
      });

      it('answers busy at the pending cap and writes nothing; a finished work order frees a place', async () => {
        const first = newWorkOrder(1, id(1));
        const second = newWorkOrder(2, id(1));
        const refused = newWorkOrder(3, id(1));
        assert.equal(await store.submitWorkOrder(first, { maxPending: 2 }), 'accepted');
        assert.equal(await store.submitWorkOrder(second, { maxPending: 2 }), 'accepted');
        assert.equal(await store.submitWorkOrder(refused, { maxPending: 2 }), 'busy');
        assert.equal(await store.getWorkOrder(refused.workOrderId), undefined);
        assert.equal(await store.pendingCount(), 2);

        // Processing work still counts as pending.
        const claimed = await store.claimWorkOrder('m', MINUTE);
        assert.equal(claimed?.workOrderId, first.workOrderId);
        assert.equal(await store.submitWorkOrder(refused, { maxPending: 2 }), 'busy');
        assert.equal(await store.pendingCount(), 2);

        assert.equal(await store.finishWorkOrder(first.workOrderId, 'm', resultOutcome(first.workOrderId)), true);
        assert.equal(await store.pendingCount(), 1);
        assert.equal(await store.submitWorkOrder(refused, { maxPending: 2 }), 'accepted');
        assert.equal((await store.claimWorkOrder('m', MINUTE))?.workOrderId, second.workOrderId);
        assert.equal((await store.claimWorkOrder('m', MINUTE))?.workOrderId, refused.workOrderId);
        assert.equal(await store.claimWorkOrder('m', MINUTE), undefined, 'a busy submission left nothing in the queue');
      });

      it('never exceeds the pending cap under concurrent submissions', async () => {
        const orders = Array.from({ length: 20 }, (_, n) => newWorkOrder(n, id(1)));
        const outcomes = await Promise.all(orders.map((order) => store.submitWorkOrder(order, { maxPending: 5 })));
        assert.equal(outcomes.filter((outcome) => outcome === 'accepted').length, 5);
        assert.equal(outcomes.filter((outcome) => outcome === 'busy').length, 15);
        assert.equal(await store.pendingCount(), 5);
        for (const [n, order] of orders.entries()) {
          const stored = await store.getWorkOrder(order.workOrderId);
          assert.equal(stored !== undefined, outcomes[n] === 'accepted', `work order ${n} exists exactly when it was accepted`);
        }
      });

      it('answers duplicate to every racer but one for the same id', async () => {
        const order = newWorkOrder(1, id(1));
        const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.submitWorkOrder(order, ROOMY)));
        assert.deepEqual(outcomes.filter((outcome) => outcome === 'accepted'), ['accepted']);
        assert.equal(outcomes.filter((outcome) => outcome === 'duplicate').length, 7);
        assert.equal(await store.pendingCount(), 1);
      });
    });

    describe('claims', () => {
      it('claims the oldest queued work order first, across workers', async () => {
        const orders = [newWorkOrder(1, id(2)), newWorkOrder(2, id(1)), newWorkOrder(3, id(2)), newWorkOrder(4, id(3))];
        // Ids do not follow submission order here: FIFO is by submission, not by id.
        orders.reverse();
        await submitAll(orders);
        const claimed: string[] = [];
        for (let claim = await store.claimWorkOrder('m', MINUTE); claim; claim = await store.claimWorkOrder('m', MINUTE)) claimed.push(claim.workOrderId);
        assert.deepEqual(claimed, orders.map((order) => order.workOrderId));
        assert.equal(await store.pendingCount(), 4, 'claimed work is still pending');
      });

      it('claims only for the named workers, oldest among them first', async () => {
        const a = newWorkOrder(1, id(1));
        const b = newWorkOrder(2, id(2));
        const c = newWorkOrder(3, id(3));
        const d = newWorkOrder(4, id(2));
        await submitAll([a, b, c, d]);
        assert.equal(await store.claimWorkOrder('m', MINUTE, []), undefined, 'no workers named, nothing claimed');
        assert.equal(await store.claimWorkOrder('m', MINUTE, [id(9)]), undefined);
        assert.equal((await store.claimWorkOrder('m', MINUTE, [id(3), id(2)]))?.workOrderId, b.workOrderId);
        assert.equal((await store.claimWorkOrder('m', MINUTE, [id(3), id(2)]))?.workOrderId, c.workOrderId);
        assert.equal((await store.claimWorkOrder('m', MINUTE, [id(2)]))?.workOrderId, d.workOrderId);
        assert.equal(await store.claimWorkOrder('m', MINUTE, [id(2), id(3)]), undefined);
        assert.equal((await store.claimWorkOrder('m', MINUTE))?.workOrderId, a.workOrderId);
      });

      it('moves the claimed work order to processing with owner, lease and one more attempt', async () => {
        const order = newWorkOrder(1, id(1));
        await submitAll([order]);
        const before = Date.now();
        const claimed = await store.claimWorkOrder('manager-a', 30_000, [id(1)]);
        const after = Date.now();
        assert.ok(claimed);
        const { leaseUntil, ...rest } = claimed;
        assert.deepEqual(rest, { ...order, state: 'processing', attempts: 1, claimedBy: 'manager-a' });
        assert.ok(leaseUntil !== undefined && leaseUntil >= before + 30_000 && leaseUntil <= after + 30_000, `lease ends leaseMs from now (${leaseUntil})`);
        assert.deepEqual(await store.getWorkOrder(order.workOrderId), claimed);
        assert.equal(await store.claimWorkOrder('manager-b', 30_000), undefined, 'a processing work order is not claimed again');
      });

      it('releases an owner\'s claims back to their old place in the queue, counting attempts', async () => {
        const a = newWorkOrder(1, id(1));
        const b = newWorkOrder(2, id(1));
        const c = newWorkOrder(3, id(1));
        await submitAll([a, b, c]);
        await store.claimWorkOrder('m1', MINUTE);
        await store.claimWorkOrder('m2', MINUTE);
        assert.equal(await store.releaseClaimsOf('m3'), 0);
        assert.equal(await store.releaseClaimsOf('m1'), 1);
        assert.deepEqual(await store.getWorkOrder(a.workOrderId), { ...a, state: 'queued', attempts: 1 });
        assert.equal((await store.getWorkOrder(b.workOrderId))?.claimedBy, 'm2', 'other owners keep their claims');
        assert.equal(await store.pendingCount(), 3);

        const again = await store.claimWorkOrder('m3', MINUTE);
        assert.equal(again?.workOrderId, a.workOrderId, 'a released work order goes ahead of later submissions');
        assert.equal(again?.attempts, 2);
        assert.equal((await store.claimWorkOrder('m3', MINUTE))?.workOrderId, c.workOrderId);
        assert.equal(await store.releaseClaimsOf('m3'), 2);
        assert.equal(await store.releaseClaimsOf('m3'), 0);
        assert.equal((await store.claimWorkOrder('m4', MINUTE))?.attempts, 3);
      });

      it('requeues only claims whose lease ended before `now`; the lapsed owner can no longer finish', async () => {
        const lapsing = newWorkOrder(1, id(1));
        const kept = newWorkOrder(2, id(1));
        await submitAll([lapsing, kept]);
        const short = await store.claimWorkOrder('short', 1_000);
        await store.claimWorkOrder('long', 10 * MINUTE);
        assert.ok(short?.leaseUntil);
        assert.equal(await store.releaseExpiredClaims(short.leaseUntil - 1), 0);
        assert.equal(await store.releaseExpiredClaims(short.leaseUntil), 0, 'a lease ending exactly now has not ended before now');
        assert.equal(await store.releaseExpiredClaims(short.leaseUntil + 1), 1);
        assert.deepEqual(await store.getWorkOrder(lapsing.workOrderId), { ...lapsing, state: 'queued', attempts: 1 });
        assert.equal((await store.getWorkOrder(kept.workOrderId))?.state, 'processing');
        assert.equal(await store.releaseExpiredClaims(short.leaseUntil + 1), 0, 'nothing left to release');

        assert.equal(await store.renewClaim(lapsing.workOrderId, 'short', MINUTE), false);
        const taken = await store.claimWorkOrder('taker', MINUTE);
        assert.equal(taken?.workOrderId, lapsing.workOrderId);
        assert.equal(taken?.attempts, 2);
        assert.equal(await store.finishWorkOrder(lapsing.workOrderId, 'short', ERROR_OUTCOME), false);
        assert.equal(await store.finishWorkOrder(lapsing.workOrderId, 'taker', resultOutcome(lapsing.workOrderId)), true);
        assert.deepEqual((await store.getWorkOrder(lapsing.workOrderId))?.outcome, resultOutcome(lapsing.workOrderId));
      });

      it('renews a claim only for its owner, moving the lease end', async () => {
        const order = newWorkOrder(1, id(1));
        const queued = newWorkOrder(2, id(1));
        await submitAll([order]);
        const claimed = await store.claimWorkOrder('m', 1_000);
        await submitAll([queued]);
        assert.ok(claimed?.leaseUntil);
        assert.equal(await store.renewClaim(order.workOrderId, 'intruder', 10 * MINUTE), false);
        assert.equal((await store.getWorkOrder(order.workOrderId))?.leaseUntil, claimed.leaseUntil, 'a refused renewal changes nothing');
        assert.equal(await store.renewClaim(order.workOrderId, 'm', 10 * MINUTE), true);
        const renewed = await store.getWorkOrder(order.workOrderId);
        assert.ok(renewed?.leaseUntil && renewed.leaseUntil >= claimed.leaseUntil + 9 * MINUTE);
        assert.equal(await store.releaseExpiredClaims(claimed.leaseUntil + 1), 0, 'the renewed lease has not ended');
        assert.equal(await store.releaseExpiredClaims(renewed.leaseUntil + 1), 1);

        assert.equal(await store.renewClaim(queued.workOrderId, 'm', MINUTE), false, 'a queued work order has no claim to renew');
        assert.equal(await store.renewClaim(id(42), 'm', MINUTE), false);
      });

      it('never hands one work order to two concurrent claimers', async () => {
        const orders = Array.from({ length: 10 }, (_, n) => newWorkOrder(n, id(1)));
        await submitAll(orders);
        const claims = await Promise.all(Array.from({ length: 20 }, (_, n) => store.claimWorkOrder(`racer-${n}`, MINUTE, n % 2 === 0 ? [id(1)] : undefined)));
        const won = claims.flatMap((claim) => (claim ? [claim] : []));
        assert.equal(won.length, 10);
        assert.deepEqual(won.map((claim) => claim.workOrderId).sort(), orders.map((order) => order.workOrderId).sort());
        for (const claim of won) {
          const stored = await store.getWorkOrder(claim.workOrderId);
          assert.equal(stored?.claimedBy, claim.claimedBy, 'the stored owner is the one the claim was handed to');
          assert.equal(stored?.attempts, 1);
        }
      });
    });

    describe('outcomes', () => {
      it('records a result once, for the owner only, and takes the work order off the queue', async () => {
        const order = newWorkOrder(1, id(1));
        await submitAll([order]);
        const claimed = await store.claimWorkOrder('m', MINUTE);
        assert.ok(claimed);

        assert.equal(await store.finishWorkOrder(order.workOrderId, 'wrong-owner', resultOutcome(order.workOrderId), receiptUpdate(order.workOrderId, 1)), false);
        assert.deepEqual(await store.getWorkOrder(order.workOrderId), claimed, 'a refused finish writes nothing');
        assert.equal(await store.pendingCount(), 1);

        const before = Date.now();
        assert.equal(await store.finishWorkOrder(order.workOrderId, 'm', resultOutcome(order.workOrderId), receiptUpdate(order.workOrderId, 1)), true);
        const done = await store.getWorkOrder(order.workOrderId);
        assert.ok(done?.finishedAt !== undefined && done.finishedAt >= before && done.finishedAt <= Date.now());
        assert.deepEqual(done, {
          ...order,
          state: 'completed',
          attempts: 1,
          outcome: resultOutcome(order.workOrderId),
          completionUpdate: receiptUpdate(order.workOrderId, 1),
          finishedAt: done.finishedAt,
        });
        assert.equal(await store.pendingCount(), 0);

        assert.equal(await store.finishWorkOrder(order.workOrderId, 'm', ERROR_OUTCOME), false, 'exactly one outcome');
        assert.deepEqual((await store.getWorkOrder(order.workOrderId))?.outcome, resultOutcome(order.workOrderId));
        assert.equal(await store.claimWorkOrder('m', MINUTE), undefined);
        assert.equal(await store.releaseClaimsOf('m'), 0);
        assert.equal(await store.releaseExpiredClaims(Date.now() + 100 * MINUTE), 0, 'a finished work order is never requeued');
        assert.equal(await store.renewClaim(order.workOrderId, 'm', MINUTE), false);
        assert.equal(await store.pendingCount(), 0);
      });

      it('records an error as failed, and refuses to finish what was never claimed', async () => {
        const failing = newWorkOrder(1, id(1));
        const unclaimed = newWorkOrder(2, id(1));
        await submitAll([failing, unclaimed]);
        await store.claimWorkOrder('m', MINUTE);
        assert.equal(await store.finishWorkOrder(failing.workOrderId, 'm', ERROR_OUTCOME), true);
        const failed = await store.getWorkOrder(failing.workOrderId);
        assert.equal(failed?.state, 'failed');
        assert.deepEqual(failed?.outcome, ERROR_OUTCOME);
        assert.equal(failed?.completionUpdate, undefined);

        assert.equal(await store.finishWorkOrder(unclaimed.workOrderId, 'm', ERROR_OUTCOME), false);
        assert.deepEqual(await store.getWorkOrder(unclaimed.workOrderId), { ...unclaimed, state: 'queued', attempts: 0 });
        assert.equal(await store.finishWorkOrder(id(42), 'm', ERROR_OUTCOME), false);
        assert.equal(await store.getWorkOrder(id(42)), undefined);
        assert.equal(await store.pendingCount(), 1);
      });

      it('stores exactly one outcome when finishes race', async () => {
        const order = newWorkOrder(1, id(1));
        await submitAll([order]);
        await store.claimWorkOrder('lapsed', 1_000);
        const lapsedLease = (await store.getWorkOrder(order.workOrderId))?.leaseUntil ?? 0;
        assert.equal(await store.releaseExpiredClaims(lapsedLease + 1), 1);
        await store.claimWorkOrder('taker', MINUTE);
        const attempts = await Promise.all([
          store.finishWorkOrder(order.workOrderId, 'lapsed', ERROR_OUTCOME),
          store.finishWorkOrder(order.workOrderId, 'taker', resultOutcome(order.workOrderId)),
          store.finishWorkOrder(order.workOrderId, 'taker', resultOutcome(order.workOrderId)),
          store.finishWorkOrder(order.workOrderId, 'lapsed', ERROR_OUTCOME),
        ]);
        assert.deepEqual(attempts.filter(Boolean), [true]);
        assert.equal(attempts[0], false);
        assert.equal(attempts[3], false);
        assert.deepEqual((await store.getWorkOrder(order.workOrderId))?.outcome, resultOutcome(order.workOrderId));
        assert.equal(await store.pendingCount(), 0);
      });

      it('appends the completion update to an existing receipt when the work order finishes', async () => {
        const order = newWorkOrder(1, id(1));
        const plain = newWorkOrder(2, id(1));
        await submitAll([order, plain]);
        assert.equal(await store.createReceipt(receiptCreate(order.workOrderId)), 'created');
        assert.equal(await store.createReceipt(receiptCreate(plain.workOrderId)), 'created');
        await store.claimWorkOrder('m', MINUTE);
        await store.claimWorkOrder('m', MINUTE);

        assert.equal(await store.finishWorkOrder(order.workOrderId, 'other', resultOutcome(order.workOrderId), receiptUpdate(order.workOrderId, 1)), false);
        assert.deepEqual((await store.getReceipt(order.workOrderId))?.updates, [], 'a refused finish appends nothing');

        assert.equal(await store.finishWorkOrder(order.workOrderId, 'm', resultOutcome(order.workOrderId), receiptUpdate(order.workOrderId, 1)), true);
        assert.deepEqual(await store.getReceipt(order.workOrderId), { create: receiptCreate(order.workOrderId), updates: [receiptUpdate(order.workOrderId, 1)], currentStatus: 1 });

        assert.equal(await store.finishWorkOrder(plain.workOrderId, 'm', resultOutcome(plain.workOrderId)), true);
        assert.deepEqual(await store.getReceipt(plain.workOrderId), { create: receiptCreate(plain.workOrderId), updates: [], currentStatus: 0 }, 'no completion update, nothing appended');
      });
    });

    describe('receipts', () => {
      it('creates a receipt once and keeps the first one', async () => {
        const workOrderId = id(5);
        assert.equal(await store.createReceipt(receiptCreate(workOrderId, { receiptCreateStatus: 0 })), 'created');
        assert.deepEqual(await store.getReceipt(workOrderId), { create: receiptCreate(workOrderId), updates: [], currentStatus: 0 });
        assert.equal(await store.createReceipt(receiptCreate(workOrderId, { receiptCreateStatus: 4, requesterId: 'cc02' })), 'exists');
        assert.equal(await store.createReceipt(receiptCreate(`0x${workOrderId.toUpperCase()}`)), 'exists', 'one receipt per canonical work order id');
        assert.deepEqual(await store.getReceipt(workOrderId), { create: receiptCreate(workOrderId), updates: [], currentStatus: 0 });
        assert.equal(await store.getReceipt(id(6)), undefined);
      });

      it('keeps the sender\'s spelling of the work order id and files the receipt under the canonical one', async () => {
        const spelled = `0x${id(7).toUpperCase()}`;
        assert.equal(await store.createReceipt(receiptCreate(spelled)), 'created');
        assert.deepEqual((await store.getReceipt(id(7)))?.create, receiptCreate(spelled));
        assert.deepEqual((await store.lookUpReceipts({ requesterId: 'cc01' }, undefined, 10)).ids, [id(7)]);
      });

      it('gives a receipt created after completion the completion update at once', async () => {
        const order = newWorkOrder(1, id(1));
        const unfinished = newWorkOrder(2, id(1));
        await submitAll([order, unfinished]);
        await store.claimWorkOrder('m', MINUTE);
        await store.finishWorkOrder(order.workOrderId, 'm', resultOutcome(order.workOrderId), receiptUpdate(order.workOrderId, 1));
        assert.equal(await store.createReceipt(receiptCreate(order.workOrderId)), 'created');
        assert.deepEqual(await store.getReceipt(order.workOrderId), { create: receiptCreate(order.workOrderId), updates: [receiptUpdate(order.workOrderId, 1)], currentStatus: 1 });
        assert.equal(await store.createReceipt(receiptCreate(order.workOrderId)), 'exists');
        assert.equal((await store.getReceipt(order.workOrderId))?.updates.length, 1, 'the update is appended once, not per create call');

        assert.equal(await store.createReceipt(receiptCreate(unfinished.workOrderId)), 'created');
        assert.deepEqual((await store.getReceipt(unfinished.workOrderId))?.updates, [], 'an unfinished work order has nothing to append yet');
        await store.claimWorkOrder('m', MINUTE);
        await store.finishWorkOrder(unfinished.workOrderId, 'm', ERROR_OUTCOME, receiptUpdate(unfinished.workOrderId, 3));
        assert.deepEqual((await store.getReceipt(unfinished.workOrderId))?.updates, [receiptUpdate(unfinished.workOrderId, 3)]);
      });

      it('gives the completion update to a receipt created while its work order finishes', async () => {
        const orders = Array.from({ length: 12 }, (_, n) => newWorkOrder(n, id(1)));
        await submitAll(orders);
        for (let n = 0; n < orders.length; n += 1) await store.claimWorkOrder('m', MINUTE);
        await Promise.all(
          orders.flatMap((order) => [
            store.finishWorkOrder(order.workOrderId, 'm', resultOutcome(order.workOrderId), receiptUpdate(order.workOrderId, 1)),
            store.createReceipt(receiptCreate(order.workOrderId)),
          ]),
        );
        for (const order of orders) {
          assert.deepEqual((await store.getReceipt(order.workOrderId))?.updates, [receiptUpdate(order.workOrderId, 1)], `receipt of ${order.workOrderId}`);
        }
      });

      it('appends updates in order; the current status follows the last one', async () => {
        const workOrderId = id(8);
        await store.createReceipt(receiptCreate(workOrderId, { receiptCreateStatus: 0 }));
        const updates = [receiptUpdate(workOrderId, 1, 'first'), receiptUpdate(workOrderId, 3, 'second'), receiptUpdate(workOrderId, 2, 'third')];
        for (const update of updates) assert.equal(await store.appendReceiptUpdate(workOrderId, update), 'appended');
        assert.deepEqual(await store.getReceipt(workOrderId), { create: receiptCreate(workOrderId), updates, currentStatus: 2 });

        assert.equal(await store.appendReceiptUpdate(id(9), receiptUpdate(id(9), 1)), 'no-receipt');
        assert.equal(await store.getReceipt(id(9)), undefined, 'an update for no receipt creates none');
      });

      it('looks receipts up by service, worker, requester and current status (255 = any), with paging', async () => {
        for (let n = 1; n <= 7; n += 1) {
          await store.createReceipt(receiptCreate(id(n), { workerServiceId: n <= 5 ? 'a0' : 'a1', workerId: n % 2 === 0 ? 'b0' : 'b1', requesterId: n <= 3 ? 'c0' : 'c1', receiptCreateStatus: 0 }));
        }
        await store.appendReceiptUpdate(id(2), receiptUpdate(id(2), 1));
        await store.appendReceiptUpdate(id(5), receiptUpdate(id(5), 3));
        await store.appendReceiptUpdate(id(6), receiptUpdate(id(6), 1));
        const ids = async (filter: Parameters<Store['lookUpReceipts']>[0]) => {
          const page = await store.lookUpReceipts(filter, undefined, 100);
          assert.equal(page.totalCount, page.ids.length);
          assert.equal(page.nextCursor, '');
          return page.ids;
        };
        const all = [1, 2, 3, 4, 5, 6, 7].map(id);
        assert.deepEqual(await ids({}), all);
        assert.deepEqual(await ids({ workerServiceId: 'a1' }), [id(6), id(7)]);
        assert.deepEqual(await ids({ workerServiceId: '0xA0' }), all.slice(0, 5));
        assert.deepEqual(await ids({ workerId: 'b0' }), [id(2), id(4), id(6)]);
        assert.deepEqual(await ids({ requesterId: 'c0' }), [id(1), id(2), id(3)]);
        assert.deepEqual(await ids({ receiptStatus: 0 }), [id(1), id(3), id(4), id(7)]);
        assert.deepEqual(await ids({ receiptStatus: 1 }), [id(2), id(6)]);
        assert.deepEqual(await ids({ receiptStatus: 3 }), [id(5)]);
        assert.deepEqual(await ids({ receiptStatus: 4 }), []);
        assert.deepEqual(await ids({ receiptStatus: 255 }), all);
        assert.deepEqual(await ids({ requesterId: 'c1', receiptStatus: 255 }), [id(4), id(5), id(6), id(7)]);
        assert.deepEqual(await ids({ workerId: 'b0', receiptStatus: 1 }), [id(2), id(6)]);
        assert.deepEqual(await ids({ workerServiceId: 'a0', workerId: 'b1', requesterId: 'c1' }), [id(5)]);
        assert.deepEqual(await ids({ workerServiceId: 'a0', workerId: 'b0', requesterId: 'c1', receiptStatus: 0 }), [id(4)]);

        await store.appendReceiptUpdate(id(1), receiptUpdate(id(1), 1));
        assert.deepEqual(await ids({ receiptStatus: 0 }), [id(3), id(4), id(7)], 'a status change leaves the old status lookup');
        assert.deepEqual(await ids({ receiptStatus: 1 }), [id(1), id(2), id(6)]);

        const pages = await allPages((after) => store.lookUpReceipts({ workerServiceId: 'a0' }, after, 2), 2, 5);
        assert.deepEqual(pages, [[id(1), id(2)], [id(3), id(4)], [id(5)]]);
        const anyStatus = await allPages((after) => store.lookUpReceipts({ receiptStatus: 255 }, after, 3), 3, 7);
        assert.deepEqual(anyStatus.flat(), all);
        const filtered = await allPages((after) => store.lookUpReceipts({ requesterId: 'c1', receiptStatus: 0 }, after, 1), 1, 2);
        assert.deepEqual(filtered, [[id(4)], [id(7)]]);
      });
    });

    describe('events', () => {
      it('tells every subscriber about accepted submissions and recorded outcomes, and nothing else', async () => {
        const seen: StoreEvent[] = [];
        const alsoSeen: StoreEvent[] = [];
        const unsubscribe = store.subscribe((event) => seen.push(event));
        const unsubscribeToo = store.subscribe((event) => alsoSeen.push(event));
        const order = newWorkOrder(1, id(1));
        const refused = newWorkOrder(2, id(1));
        await submitAll([order]);
        assert.equal(await store.submitWorkOrder(order, ROOMY), 'duplicate');
        assert.equal(await store.submitWorkOrder(refused, { maxPending: 1 }), 'busy');
        await store.claimWorkOrder('m', MINUTE);
        assert.equal(await store.finishWorkOrder(order.workOrderId, 'wrong-owner', ERROR_OUTCOME), false);
        assert.equal(await store.finishWorkOrder(order.workOrderId, 'm', resultOutcome(order.workOrderId)), true);
        // Events may arrive after the call returns (PostgreSQL delivers them through NOTIFY), in commit order.
        await waitFor(() => seen.length >= 2 && alsoSeen.length >= 2, 'the submitted and finished events');
        const expected: StoreEvent[] = [
          { type: 'submitted', workOrderId: order.workOrderId, workerId: id(1) },
          { type: 'finished', workOrderId: order.workOrderId },
        ];
        // A store may hand over the recorded outcome with 'finished'; if it does, it must be that one.
        const withoutOutcome = (events: StoreEvent[]) => events.map((event) => {
          if (event.type !== 'finished' || event.outcome === undefined) return event;
          assert.deepEqual(event.outcome, resultOutcome(order.workOrderId));
          return { type: event.type, workOrderId: event.workOrderId };
        });
        assert.deepEqual(withoutOutcome(seen), expected);
        assert.deepEqual(withoutOutcome(alsoSeen), expected);

        unsubscribe();
        const marker = newWorkOrder(3, id(1));
        await submitAll([marker]);
        await waitFor(() => alsoSeen.length >= 3, 'the marker submission');
        unsubscribeToo();
        assert.deepEqual(alsoSeen[2], { type: 'submitted', workOrderId: marker.workOrderId, workerId: id(1) });
        assert.equal(seen.length, 2, 'an unsubscribed listener hears nothing more');
      });

      it('announces released work as submitted again, so idle managers wake', async () => {
        const order = newWorkOrder(1, id(1));
        await submitAll([order]);
        await store.claimWorkOrder('m', MINUTE);
        const seen: StoreEvent[] = [];
        const unsubscribe = store.subscribe((event) => seen.push(event));
        assert.equal(await store.releaseClaimsOf('m'), 1);
        await waitFor(() => seen.length >= 1, 'the release event');
        unsubscribe();
        assert.deepEqual(seen, [{ type: 'submitted', workOrderId: order.workOrderId, workerId: id(1) }]);
      });
    });
  });
}
