/**
 * LmdbStore: the conformance suite on a fresh directory per test, plus what only an embedded store
 * must show: everything survives a close and reopen, and a SIGKILL loses no call that had resolved.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { LmdbStore, openStore } from '../../src/store/index.js';
import type { NewWorkOrder } from '../../src/store/index.js';
import { id, newWorkOrder, receiptCreate, storeConformance, workerRecord } from './conformance.js';

const temporaryDirectories: string[] = [];
function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-lmdb-'));
  temporaryDirectories.push(directory);
  return directory;
}
after(() => {
  for (const directory of temporaryDirectories) fs.rmSync(directory, { recursive: true, force: true });
});

storeConformance('LMDB', async () => {
  const directory = temporaryDirectory();
  const store = new LmdbStore(directory);
  return {
    store,
    async cleanup() {
      await store.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
});

describe('LmdbStore on disk', () => {
  it('commits writes of one turn together, and a write that fails undoes only its own changes', async () => {
    const store = new LmdbStore(temporaryDirectory());
    const worker = id(7);
    const unencodable = { ...newWorkOrder(1, worker), request: { field: Symbol('cannot be stored') } as unknown as NewWorkOrder['request'] };
    const [failed, accepted, second] = await Promise.allSettled([
      store.submitWorkOrder(unencodable, { maxPending: 10 }),
      store.submitWorkOrder(newWorkOrder(2, worker), { maxPending: 10 }),
      store.submitWorkOrder(newWorkOrder(3, worker), { maxPending: 10 }),
    ]);
    assert.equal(failed.status, 'rejected');
    assert.deepEqual([accepted, second].map((outcome) => outcome.status === 'fulfilled' && outcome.value), ['accepted', 'accepted']);
    assert.equal(await store.getWorkOrder(unencodable.workOrderId), undefined);
    assert.equal(await store.pendingCount(), 2, 'the failed write took no place in the pending count');
    const claimed = await store.claimWorkOrder('m', 60_000, [worker]);
    assert.equal(claimed?.workOrderId, newWorkOrder(2, worker).workOrderId, 'the queue holds the accepted ones, in order');
    await store.close();
  });

  describe('a submission being committed', () => {
    it('can be claimed before its commit is durable, and its outcome commits after it', async () => {
      const store = new LmdbStore(temporaryDirectory());
      const worker = id(7);
      const order = newWorkOrder(1, worker);
      const submitted = store.submitWorkOrder(order, { maxPending: 10 });
      const claimed = await store.claimWorkOrder('m', 60_000, [worker]);
      assert.equal(claimed?.workOrderId, order.workOrderId, 'claimable while the submission commits');
      assert.deepEqual([claimed.state, claimed.claimedBy, claimed.attempts], ['processing', 'm', 1]);
      assert.deepEqual(claimed.request, order.request);
      assert.equal(await store.getWorkOrder(order.workOrderId), undefined, 'not readable before it is acknowledged');
      const finished = store.finishWorkOrder(order.workOrderId, 'm', { error: { code: 5, message: 'done' } });
      assert.equal(await submitted, 'accepted');
      assert.equal(await finished, true);
      assert.equal((await store.getWorkOrder(order.workOrderId))?.state, 'failed');
      assert.equal(await store.pendingCount(), 0);
      await store.close();
    });

    it('is not claimable when it would be a duplicate or over the pending limit', async () => {
      const store = new LmdbStore(temporaryDirectory());
      const worker = id(7);
      assert.equal(await store.submitWorkOrder(newWorkOrder(1, worker), { maxPending: 2 }), 'accepted');
      assert.equal((await store.claimWorkOrder('a', 60_000, [worker]))?.workOrderId, newWorkOrder(1, worker).workOrderId);
      const outcomes = Promise.all([
        store.submitWorkOrder(newWorkOrder(1, worker), { maxPending: 2 }),
        store.submitWorkOrder(newWorkOrder(2, worker), { maxPending: 2 }),
        store.submitWorkOrder(newWorkOrder(2, worker), { maxPending: 2 }),
        store.submitWorkOrder(newWorkOrder(3, worker), { maxPending: 2 }),
      ]);
      assert.equal((await store.claimWorkOrder('b', 60_000, [worker]))?.workOrderId, newWorkOrder(2, worker).workOrderId);
      assert.equal(await store.claimWorkOrder('c', 60_000, [worker]), undefined, 'no duplicate and nothing over the limit was claimable');
      assert.deepEqual(await outcomes, ['duplicate', 'accepted', 'duplicate', 'busy']);
      await store.close();
    });

    it('that fails leaves no claim, and an outcome computed for it is refused', async () => {
      const store = new LmdbStore(temporaryDirectory());
      const worker = id(7);
      const unencodable = { ...newWorkOrder(1, worker), request: { field: Symbol('cannot be stored') } as unknown as NewWorkOrder['request'] };
      const submitted = store.submitWorkOrder(unencodable, { maxPending: 10 });
      assert.equal((await store.claimWorkOrder('m', 60_000, [worker]))?.workOrderId, unencodable.workOrderId);
      const inSameCommit = store.finishWorkOrder(unencodable.workOrderId, 'm', { error: { code: 5, message: 'done' } });
      await assert.rejects(submitted);
      assert.equal(await inSameCommit, false, 'an outcome committed with the failed submission is refused');
      assert.equal(await store.finishWorkOrder(unencodable.workOrderId, 'm', { error: { code: 5, message: 'done' } }), false, 'and so is a later one');
      assert.equal(await store.getWorkOrder(unencodable.workOrderId), undefined);
      assert.equal(await store.releaseClaimsOf('m'), 0, 'its claim was dropped with it');
      assert.equal(await store.pendingCount(), 0);
      await store.close();
    });

    it('goes back to claimable when its claimer dies before the commit', async () => {
      const store = new LmdbStore(temporaryDirectory());
      const worker = id(7);
      const order = newWorkOrder(1, worker);
      const submitted = store.submitWorkOrder(order, { maxPending: 10 });
      assert.equal((await store.claimWorkOrder('m', 60_000, [worker]))?.workOrderId, order.workOrderId);
      assert.equal(await store.releaseClaimsOf('m'), 1);
      const again = await store.claimWorkOrder('n', 60_000, [worker]);
      assert.deepEqual([again?.workOrderId, again?.attempts], [order.workOrderId, 2]);
      assert.equal(await submitted, 'accepted');
      assert.equal(await store.finishWorkOrder(order.workOrderId, 'm', { error: { code: 5, message: 'late' } }), false, 'the first claimer lost it');
      assert.equal(await store.finishWorkOrder(order.workOrderId, 'n', { error: { code: 5, message: 'done' } }), true);
      assert.equal((await store.getWorkOrder(order.workOrderId))?.attempts, 2);
      await store.close();
    });
  });

  it('creates its directory, and openStore takes any non-PostgreSQL location as one', async () => {
    const directory = path.join(temporaryDirectory(), 'nested', 'store');
    const store = await openStore(directory);
    assert.ok(store instanceof LmdbStore);
    assert.ok(fs.statSync(directory).isDirectory());
    await store.close();
  });

  it('keeps workers, queue order, outcomes, counts and receipts across a close and reopen; claims end with the process', async () => {
    const directory = temporaryDirectory();
    const first = new LmdbStore(directory);
    await first.putWorker(workerRecord(1, { workerType: 2 }));
    const orders = [newWorkOrder(1, id(1)), newWorkOrder(2, id(1)), newWorkOrder(3, id(1)), newWorkOrder(4, id(1))];
    for (const order of orders) await first.submitWorkOrder(order, { maxPending: 10 });
    const done = await first.claimWorkOrder('m', 60_000);
    await first.claimWorkOrder('m', 60_000);
    assert.equal(await first.finishWorkOrder(done!.workOrderId, 'm', { error: { code: 5, message: 'done' } }), true);
    await first.createReceipt(receiptCreate(orders[2]!.workOrderId, { workerId: id(1) }));
    await first.close();

    const reopened = new LmdbStore(directory);
    try {
      assert.deepEqual(await reopened.getWorker(id(1)), workerRecord(1, { workerType: 2 }));
      assert.deepEqual((await reopened.lookUpWorkers({ workerType: 2 }, undefined, 10)).ids, [id(1)]);
      assert.equal(await reopened.pendingCount(), 3);
      assert.equal((await reopened.getWorkOrder(orders[0]!.workOrderId))?.state, 'failed');
      assert.deepEqual(await reopened.getWorkOrder(orders[1]!.workOrderId), { ...orders[1], state: 'queued', attempts: 0 }, 'the interrupted claim left it queued');
      assert.equal(await reopened.releaseClaimsOf('m'), 0, 'no claim outlives its process');
      const order = await reopened.claimWorkOrder('m', 60_000);
      assert.equal(order?.workOrderId, orders[1]!.workOrderId, 'at its old place in the queue');
      assert.equal(order.attempts, 1);
      assert.equal((await reopened.claimWorkOrder('m', 60_000))?.workOrderId, orders[2]!.workOrderId);
      assert.deepEqual((await reopened.lookUpReceipts({ receiptStatus: 0 }, undefined, 10)).ids, [orders[2]!.workOrderId]);
    } finally {
      await reopened.close();
    }
  });

  it('requeues the claims that the earlier layout kept on disk, at their place', async () => {
    const directory = temporaryDirectory();
    const [claimed, queued] = [newWorkOrder(1, id(1)), newWorkOrder(2, id(1))];
    const legacy = open({ path: directory, maxDbs: 16, compression: false, overlappingSync: false });
    const { request: claimedRequest, ...claimedFields } = claimed;
    const { request: queuedRequest, ...queuedFields } = queued;
    await legacy.transaction(() => {
      const requests = legacy.openDB({ name: 'work-order-requests' });
      requests.putSync(claimed.workOrderId, claimedRequest);
      requests.putSync(queued.workOrderId, queuedRequest);
      const workOrders = legacy.openDB({ name: 'work-orders' });
      workOrders.putSync(claimed.workOrderId, { ...claimedFields, state: 'processing', attempts: 1, claimedBy: 'm', leaseUntil: 5, queueSeq: 1 });
      workOrders.putSync(queued.workOrderId, { ...queuedFields, state: 'queued', attempts: 0, queueSeq: 2 });
      legacy.openDB({ name: 'queue' }).putSync(2, { workOrderId: queued.workOrderId, workerId: id(1) });
      legacy.openDB({ name: 'queue-by-worker' }).putSync([id(1), 2], queued.workOrderId);
      legacy.openDB({ name: 'leases' }).putSync([5, claimed.workOrderId], 'm');
      legacy.openDB({ name: 'meta' }).putSync('pending', 2);
      legacy.openDB({ name: 'meta' }).putSync('sequence', 2);
    });
    await legacy.close();

    const store = new LmdbStore(directory);
    try {
      assert.deepEqual(await store.getWorkOrder(claimed.workOrderId), { ...claimed, state: 'queued', attempts: 1 });
      assert.equal((await store.claimWorkOrder('n', 60_000))?.workOrderId, claimed.workOrderId);
      assert.equal((await store.claimWorkOrder('n', 60_000, [id(1)]))?.workOrderId, queued.workOrderId);
      assert.equal(await store.pendingCount(), 2);
    } finally {
      await store.close();
    }
    const reopened = open({ path: directory, maxDbs: 16 });
    assert.equal(reopened.openDB({ name: 'leases', create: false } as { name: string }), undefined, 'the old claims sub-database is gone');
    await reopened.close();
  });

  describe('killed with SIGKILL while writing', () => {
    const directory = temporaryDirectory();
    let acknowledged = -1;

    before(async () => {
      const writer = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/lmdb-writer.ts', import.meta.url)), directory], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => writer.on('exit', (_code, signal) => resolve(signal)));
      let buffered = '';
      writer.stdout.setEncoding('utf8');
      writer.stdout.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) acknowledged = Number(line);
        // Killed mid-stream: the next round is already under way when the signal lands.
        if (acknowledged >= 150) writer.kill('SIGKILL');
      });
      assert.equal(await exited, 'SIGKILL');
    });

    it('loses no round whose calls had resolved, and leaves a consistent store', async () => {
      assert.ok(acknowledged >= 150, `the writer acknowledged ${acknowledged + 1} rounds`);
      const store = new LmdbStore(directory);
      try {
        for (let round = 0; round <= acknowledged; round += 1) {
          const { workOrderId } = newWorkOrder(round, id(1));
          const order = await store.getWorkOrder(workOrderId);
          assert.equal(order?.state, 'failed', `round ${round} finished`);
          const receipt = await store.getReceipt(workOrderId);
          assert.equal(receipt?.currentStatus, 3, `round ${round} has its receipt with the completion update`);
          assert.equal(receipt.updates.length, 1);
        }
        // The interrupted round committed a prefix of its calls, each one whole.
        const interrupted = await store.getWorkOrder(newWorkOrder(acknowledged + 1, id(1)).workOrderId);
        const unfinished = interrupted?.state === 'queued';
        assert.equal(await store.pendingCount(), unfinished ? 1 : 0, 'the pending count agrees with the records');
        if (unfinished) assert.equal((await store.claimWorkOrder('check', 1_000))?.workOrderId, interrupted.workOrderId, 'the queue agrees too');
        assert.equal(await store.claimWorkOrder('check', 1_000), undefined);
        const receipts = await store.lookUpReceipts({}, undefined, 1);
        assert.ok(receipts.totalCount === acknowledged + 1 || receipts.totalCount === acknowledged + 2, `${receipts.totalCount} receipts`);
      } finally {
        await store.close();
      }
    });
  });
});
