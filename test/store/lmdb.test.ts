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
import { LmdbStore, openStore } from '../../src/store/index.js';
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
  it('creates its directory, and openStore takes any non-PostgreSQL location as one', async () => {
    const directory = path.join(temporaryDirectory(), 'nested', 'store');
    const store = await openStore(directory);
    assert.ok(store instanceof LmdbStore);
    assert.ok(fs.statSync(directory).isDirectory());
    await store.close();
  });

  it('keeps workers, queue order, claims, counts and receipts across a close and reopen', async () => {
    const directory = temporaryDirectory();
    const first = new LmdbStore(directory);
    await first.putWorker(workerRecord(1, { workerType: 2 }));
    const orders = [newWorkOrder(1, id(1)), newWorkOrder(2, id(1)), newWorkOrder(3, id(1))];
    for (const order of orders) await first.submitWorkOrder(order, { maxPending: 10 });
    const claimed = await first.claimWorkOrder('m', 60_000);
    await first.createReceipt(receiptCreate(orders[1]!.workOrderId, { workerId: id(1) }));
    await first.close();

    const reopened = new LmdbStore(directory);
    try {
      assert.deepEqual(await reopened.getWorker(id(1)), workerRecord(1, { workerType: 2 }));
      assert.deepEqual((await reopened.lookUpWorkers({ workerType: 2 }, undefined, 10)).ids, [id(1)]);
      assert.equal(await reopened.pendingCount(), 3);
      assert.deepEqual(await reopened.getWorkOrder(orders[0]!.workOrderId), claimed);
      assert.equal((await reopened.claimWorkOrder('m', 60_000))?.workOrderId, orders[1]!.workOrderId);
      assert.equal(await reopened.releaseExpiredClaims(Date.now() + 120_000), 2, 'both leases are still indexed');
      assert.equal((await reopened.claimWorkOrder('m', 60_000))?.workOrderId, orders[0]!.workOrderId);
      assert.deepEqual((await reopened.lookUpReceipts({ receiptStatus: 0 }, undefined, 10)).ids, [orders[1]!.workOrderId]);
    } finally {
      await reopened.close();
    }
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
        const unfinished = interrupted?.state === 'queued' || interrupted?.state === 'processing';
        assert.equal(await store.pendingCount(), unfinished ? 1 : 0, 'the pending count agrees with the records');
        if (interrupted?.state === 'processing') assert.equal(await store.releaseExpiredClaims((interrupted.leaseUntil ?? 0) + 1), 1);
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
