/**
 * The enclave manager against a real LMDB store and a real worker process, with the store's outcome
 * write held back: a lane must go on to its next work order while the last outcome is still being
 * recorded, and stopping must wait for that record rather than drop it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import type { ReceiptUpdate } from '../../src/protocol/messages.js';
import { textToHex } from '../../src/crypto/index.js';
import { createLogger } from '../../src/log/index.js';
import { EnclaveManager } from '../../src/manager/index.js';
import { LmdbStore, type WorkOrderOutcome } from '../../src/store/index.js';
import { buildWorkOrder, openWorkOrderResult, type BuiltWorkOrder, type WorkerPublicKeys } from '../../src/workorder/index.js';
import { tempDir } from '../helpers/node-process.js';

/** Holds every finishWorkOrder until the test opens the gate, and records which work orders reached it. */
class GatedStore extends LmdbStore {
  readonly finishing: string[] = [];
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  openGate(): void {
    this.open();
  }

  override async finishWorkOrder(workOrderId: string, owner: string, outcome: WorkOrderOutcome, completionUpdate?: ReceiptUpdate): Promise<boolean> {
    this.finishing.push(workOrderId);
    await this.gate;
    return super.finishWorkOrder(workOrderId, owner, outcome, completionUpdate);
  }
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('enclave manager', () => {
  const dataDir = tempDir('manager');
  let store: GatedStore;
  let manager: EnclaveManager;
  let worker: WorkerPublicKeys;
  let stopped: Promise<void> | undefined;

  before(async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir, workers: { processesPerWorker: 1 }, enclave: { rsaBits: 2048, lanesPerProcess: 1 } } });
    store = new GatedStore(`${dataDir}/store`);
    manager = new EnclaveManager(config, store, createLogger('test', { level: 'silent' }), 'http://127.0.0.1:1');
    await manager.start();
    const record = await store.getWorker(manager.managedWorkers[0]!.workerId);
    assert.ok(record, 'the manager registered its worker');
    const { workerTypeData } = record.details;
    worker = { workerId: record.workerId, encryptionKeyPem: workerTypeData.encryptionKey, verificationKeyPem: workerTypeData.verificationKey };
  });

  after(async () => {
    // Also when an assertion failed first: nothing may stay held, or the worker process would outlive the test.
    store.openGate();
    await (stopped ??= manager.stop());
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('claims and runs the next work order while the last outcome is still being recorded; stop waits for the record', async () => {
    const orders: BuiltWorkOrder[] = ['first', 'second'].map((text) => buildWorkOrder({ worker, workloadId: textToHex('echo-result'), inData: [{ data: text }] }));
    for (const built of orders) {
      const { workOrderId, requesterId } = built.params;
      const accepted = await store.submitWorkOrder({ workOrderId, workerId: worker.workerId, requesterId, request: built.params, submittedAt: Date.now() }, { maxPending: 10 });
      assert.equal(accepted, 'accepted');
    }
    // One process with one lane: the second result can only reach the store if the lane did not wait for the first record.
    await until(() => store.finishing.length === 2, 'both results reached the store while the first record was held');
    assert.deepEqual(store.finishing, orders.map((built) => built.params.workOrderId));
    stopped = manager.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await store.getWorkOrder(orders[0]!.params.workOrderId))?.outcome, undefined, 'nothing is recorded while the gate is shut');
    store.openGate();
    await stopped;
    for (const [index, built] of orders.entries()) {
      const stored = await store.getWorkOrder(built.params.workOrderId);
      assert.ok(stored?.outcome && 'result' in stored.outcome, `work order ${index} has its result recorded`);
      assert.equal(openWorkOrderResult(stored.outcome.result, built, worker).outData[0]!.data.toString(), `RESULT: ${['first', 'second'][index]}`);
      assert.equal(stored.completionUpdate?.updaterId, worker.workerId, 'with the worker-signed receipt update');
    }
  });
});
