/**
 * A receipt its requester closed (REJECTED or COMPLETED) while the work order was still queued stays
 * closed when the work order finishes: the worker's completion update, which the store appends itself,
 * used to move it back to PROCESSED. On LMDB and (when reachable) PostgreSQL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSigningKey } from '../../src/crypto/index.js';
import { ReceiptStatus } from '../../src/protocol/index.js';
import { startTestNode, type TestNode } from '../helpers/in-process-node.js';
import { PROJECT_ROOT, tempDir } from '../helpers/node-process.js';
import { storesUnderTest } from '../helpers/postgres.js';

const LAST_UPDATE = 0xffffffff;
const stores = await storesUnderTest('tcf_receipt_closed');

for (const { name, store, skip } of stores) {
  describe(`a receipt closed before its work order finishes (${name})`, { skip }, () => {
    let test: TestNode;
    const gates = tempDir('receipt-gates');

    before(async () => {
      test = await startTestNode('receipt-closed', {
        workers: { workloadModules: [path.join(PROJECT_ROOT, 'test/fixtures/gated-workloads.ts')] },
        ...(store ? { store } : {}),
      });
    });

    after(async () => {
      await test.stop();
      fs.rmSync(gates, { recursive: true, force: true });
    });

    for (const closing of [ReceiptStatus.REJECTED, ReceiptStatus.COMPLETED]) {
      it(`stays ${closing === ReceiptStatus.REJECTED ? 'REJECTED' : 'COMPLETED'}, and a receipt left open gets the worker's update`, async () => {
        const requester = generateSigningKey();
        const gate = path.join(gates, `gate-${closing}`);
        const closed = await test.client.submit({ workerId: test.workerId, workload: 'test-gate', inputs: [gate], responseTimeoutMs: 0, signer: requester });
        const open = await test.client.submit({ workerId: test.workerId, workload: 'test-gate', inputs: [gate], responseTimeoutMs: 0, signer: requester });
        await test.client.createReceipt(closed, requester);
        await test.client.createReceipt(open, requester);
        await test.client.updateReceipt(closed.workOrderId, requester, closing, 'closed while queued');

        fs.writeFileSync(gate, '');
        await test.client.waitForResult(closed, { timeoutMs: 20_000 });
        await test.client.waitForResult(open, { timeoutMs: 20_000 });

        assert.equal((await test.client.retrieveReceipt(closed.workOrderId)).receiptCurrentStatus, closing);
        assert.equal((await test.client.retrieveReceiptUpdate(closed.workOrderId, LAST_UPDATE)).updateCount, 1, "only the requester's update");
        assert.equal((await test.client.retrieveReceipt(open.workOrderId)).receiptCurrentStatus, ReceiptStatus.PROCESSED);
        assert.equal((await test.client.retrieveReceiptUpdate(open.workOrderId, LAST_UPDATE)).updateCount, 1, "the worker's completion update");
      });
    }

    it('a receipt created closed after the work order finished does not take the worker update either', async () => {
      const requester = generateSigningKey();
      const gate = path.join(gates, 'gate-late');
      fs.writeFileSync(gate, '');
      const finished = await test.client.submit({ workerId: test.workerId, workload: 'test-gate', inputs: [gate], responseTimeoutMs: 0, signer: requester });
      await test.client.waitForResult(finished, { timeoutMs: 20_000 });
      await test.client.createReceipt(finished, requester, ReceiptStatus.REJECTED);
      assert.equal((await test.client.retrieveReceipt(finished.workOrderId)).receiptCurrentStatus, ReceiptStatus.REJECTED);
    });
  });
}
