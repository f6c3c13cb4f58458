/**
 * WorkOrderReceiptRegistry on a real EVM (anvil): signed receipts created and updated with their
 * events, update retrieval by index, by updater and "last", lookups page by page on the current status,
 * the status rules (COMPLETED is final, PROCESSED does not go back), and the access rules: only the
 * account that submitted the work order creates its receipt, and only it or the worker's account updates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LAST_RECEIPT_UPDATE, ReceiptStatus, successResponse } from '../../../src/protocol/index.js';
import {
  Account,
  assertReverts,
  eventsOf,
  makeReceipt,
  makeReceiptUpdate,
  makeRequester,
  makeWorker,
  makeWorkOrder,
  randomId,
  startTestChain,
  workOrderResult,
  type TestChain,
  type TestWorker,
} from './fixtures.js';

const NOT_UPDATER = "WorkOrderReceiptRegistry: only the work order's requester or worker account may update its receipt";

describe('WorkOrderReceiptRegistry', () => {
  let chain: TestChain;
  let worker: TestWorker;
  const requester = makeRequester();

  before(async () => {
    chain = await startTestChain({ lookUpPageSize: 2 });
    worker = makeWorker();
    await chain.ledger(Account.WORKER).registerWorker(worker.register);
  });

  after(async () => {
    await chain?.stop();
  });

  async function submitted(by: { signer: typeof requester.signer } = requester) {
    const built = makeWorkOrder(worker, by);
    await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);
    return built;
  }

  it('creates a receipt for the requester account: it reads back as signed, with workOrderReceiptCreated', async () => {
    const built = await submitted();
    const receipt = makeReceipt(built, requester);
    const mined = await chain.ledger(Account.REQUESTER).createReceipt(receipt);
    assert.deepEqual(await chain.ledger(Account.STRANGER).retrieveReceipt(built.params.workOrderId), { ...receipt, receiptCurrentStatus: ReceiptStatus.PENDING });

    const [event] = await eventsOf(chain.contract('WorkOrderReceiptRegistry', Account.STRANGER), mined.transactionHash);
    assert.equal(event!.name, 'workOrderReceiptCreated');
    assert.equal(event!.args.getValue('workOrderId'), `0x${built.params.workOrderId}`);
    assert.equal(event!.args.getValue('workerId'), `0x${worker.secrets.workerId}`);
    assert.equal(event!.args.getValue('requesterId'), `0x${requester.requesterId}`);
    assert.equal(event!.args.getValue('workerServiceId'), `0x${worker.secrets.workerId}`);
    assert.equal(event!.args.getValue('receiptStatus'), BigInt(ReceiptStatus.PENDING));
  });

  it('lets only the account that submitted the work order create its receipt, once, for its own worker', async () => {
    const built = await submitted();
    const receipt = makeReceipt(built, requester);
    for (const account of [Account.WORKER, Account.STRANGER]) {
      await assertReverts(chain.ledger(account).createReceipt(receipt), 'WorkOrderReceiptRegistry: only the account that submitted the work order may create its receipt');
    }
    await assertReverts(
      chain.ledger(Account.REQUESTER).createReceipt({ ...receipt, workerId: randomId() }),
      "WorkOrderReceiptRegistry: worker id is not the work order's worker",
    );
    for (const receiptCreateStatus of [5, 254, 255]) {
      await assertReverts(chain.ledger(Account.REQUESTER).createReceipt({ ...receipt, receiptCreateStatus }), 'WorkOrderReceiptRegistry: status must be 0-4 or above 255');
    }
    await chain.ledger(Account.REQUESTER).createReceipt(receipt);
    await assertReverts(chain.ledger(Account.REQUESTER).createReceipt(receipt), 'WorkOrderReceiptRegistry: work order already has a receipt');
    await assertReverts(
      chain.ledger(Account.REQUESTER).createReceipt({ ...receipt, workOrderId: randomId() }),
      'WorkOrderReceiptRegistry: unknown work order',
    );
  });

  it("appends the requester's and the worker's updates, each moving the current status, with workOrderReceiptUpdated", async () => {
    const built = await submitted();
    await chain.ledger(Account.REQUESTER).createReceipt(makeReceipt(built, requester));
    const workOrderId = built.params.workOrderId;
    const result = workOrderResult(worker, built);

    const byWorker = makeReceiptUpdate(workOrderId, worker.secrets.workerId, worker.secrets.signingKey, ReceiptStatus.PROCESSED, result);
    const mined = await chain.ledger(Account.WORKER).updateReceipt(byWorker);
    assert.equal((await chain.ledger(Account.STRANGER).retrieveReceipt(workOrderId))?.receiptCurrentStatus, ReceiptStatus.PROCESSED);
    const [event] = await eventsOf(chain.contract('WorkOrderReceiptRegistry', Account.STRANGER), mined.transactionHash);
    assert.equal(event!.name, 'workOrderReceiptUpdated');
    assert.equal(event!.args.getValue('workOrderId'), `0x${workOrderId}`);
    assert.equal(event!.args.getValue('updaterId'), `0x${worker.secrets.workerId}`);
    assert.equal(event!.args.getValue('updateType'), BigInt(ReceiptStatus.PROCESSED));
    assert.equal(event!.args.getValue('updateCount'), 1n);

    const byRequester = makeReceiptUpdate(workOrderId, requester.requesterId, requester.signer, 300);
    await chain.ledger(Account.REQUESTER).updateReceipt(byRequester);
    const closing = makeReceiptUpdate(workOrderId, worker.secrets.workerId, worker.secrets.signingKey, ReceiptStatus.COMPLETED, result);
    await chain.ledger(Account.WORKER).updateReceipt(closing);
    assert.equal((await chain.ledger(Account.STRANGER).retrieveReceipt(workOrderId))?.receiptCurrentStatus, ReceiptStatus.COMPLETED);

    const ledger = chain.ledger(Account.STRANGER);
    assert.deepEqual(await ledger.retrieveReceiptUpdate(workOrderId, 1), { ...byWorker, updateCount: 3 });
    assert.deepEqual(await ledger.retrieveReceiptUpdate(workOrderId, 2), { ...byRequester, updateCount: 3 });
    assert.deepEqual(await ledger.retrieveReceiptUpdate(workOrderId, LAST_RECEIPT_UPDATE), { ...closing, updateCount: 3 });
    assert.deepEqual(await ledger.retrieveReceiptUpdate(workOrderId, 2 ** 32), { ...closing, updateCount: 3 }, "Avalon's Python SDK names the last update 2^32");
    assert.deepEqual(await ledger.retrieveReceiptUpdate(workOrderId, 2, worker.secrets.workerId), { ...closing, updateCount: 2 });
    assert.deepEqual(await ledger.retrieveReceiptUpdate(workOrderId, LAST_RECEIPT_UPDATE, requester.requesterId), { ...byRequester, updateCount: 1 });
    assert.equal(await ledger.retrieveReceiptUpdate(workOrderId, 4), undefined);
    assert.equal(await ledger.retrieveReceiptUpdate(workOrderId, 0), undefined);
    assert.equal(await ledger.retrieveReceiptUpdate(workOrderId, 1, randomId()), undefined);

    const [, , , count] = await chain.contract('WorkOrderReceiptRegistry', Account.STRANGER).workOrderReceiptUpdateRetrieve!(`0x${workOrderId}`, `0x${'00'.repeat(32)}`, 9);
    assert.equal(count, 3n, 'the count is reported even when the index is past the end');
  });

  it("lets only the requester's account update as the requester and the worker's account as the worker", async () => {
    const built = await submitted();
    await chain.ledger(Account.REQUESTER).createReceipt(makeReceipt(built, requester));
    const workOrderId = built.params.workOrderId;
    const asWorker = makeReceiptUpdate(workOrderId, worker.secrets.workerId, worker.secrets.signingKey, ReceiptStatus.PROCESSED);
    const asRequester = makeReceiptUpdate(workOrderId, requester.requesterId, requester.signer, ReceiptStatus.FAILED);
    const asNobody = makeReceiptUpdate(workOrderId, randomId(), requester.signer, ReceiptStatus.FAILED);

    await assertReverts(chain.ledger(Account.STRANGER).updateReceipt(asWorker), NOT_UPDATER);
    await assertReverts(chain.ledger(Account.STRANGER).updateReceipt(asRequester), NOT_UPDATER);
    await assertReverts(chain.ledger(Account.REQUESTER).updateReceipt(asWorker), NOT_UPDATER);
    await assertReverts(chain.ledger(Account.WORKER).updateReceipt(asRequester), NOT_UPDATER);
    await assertReverts(chain.ledger(Account.REQUESTER).updateReceipt(asNobody), NOT_UPDATER);
    assert.equal(await chain.ledger(Account.STRANGER).retrieveReceiptUpdate(workOrderId, LAST_RECEIPT_UPDATE), undefined);

    await chain.ledger(Account.REQUESTER).updateReceipt(asRequester);
    await chain.ledger(Account.WORKER).updateReceipt(asWorker);
    assert.equal((await chain.ledger(Account.STRANGER).retrieveReceiptUpdate(workOrderId, LAST_RECEIPT_UPDATE))?.updateCount, 2);
  });

  it('keeps COMPLETED final and PROCESSED from going back, and refuses updates without a receipt', async () => {
    const built = await submitted();
    await chain.ledger(Account.REQUESTER).createReceipt(makeReceipt(built, requester));
    const workOrderId = built.params.workOrderId;
    const update = (status: number) => makeReceiptUpdate(workOrderId, worker.secrets.workerId, worker.secrets.signingKey, status);
    const ledger = chain.ledger(Account.WORKER);

    await assertReverts(ledger.updateReceipt(update(255)), 'WorkOrderReceiptRegistry: status must be 0-4 or above 255');
    await ledger.updateReceipt(update(ReceiptStatus.PROCESSED));
    for (const status of [ReceiptStatus.PENDING, ReceiptStatus.FAILED, ReceiptStatus.REJECTED]) {
      await assertReverts(ledger.updateReceipt(update(status)), 'WorkOrderReceiptRegistry: a PROCESSED receipt cannot go back to PENDING, FAILED or REJECTED');
    }
    await ledger.updateReceipt(update(ReceiptStatus.COMPLETED));
    await assertReverts(ledger.updateReceipt(update(256)), 'WorkOrderReceiptRegistry: receipt is COMPLETED and takes no more updates');

    const withoutReceipt = await submitted();
    await assertReverts(
      ledger.updateReceipt(makeReceiptUpdate(withoutReceipt.params.workOrderId, worker.secrets.workerId, worker.secrets.signingKey, ReceiptStatus.PROCESSED)),
      'WorkOrderReceiptRegistry: work order has no receipt',
    );
    assert.equal(await chain.ledger(Account.STRANGER).retrieveReceipt(withoutReceipt.params.workOrderId), undefined);
  });

  it('looks up receipts by worker, requester and current status, two per page, in creation order', async () => {
    const other = makeRequester();
    const orders = [];
    for (let i = 0; i < 3; i += 1) {
      const built = await submitted(other);
      await chain.ledger(Account.REQUESTER).createReceipt(makeReceipt(built, other));
      orders.push(built.params.workOrderId);
    }
    const ledger = chain.ledger(Account.STRANGER);
    const first = await ledger.lookUpReceipts({ requesterId: other.requesterId });
    assert.equal(first.totalCount, 3);
    assert.deepEqual(first.ids, orders.slice(0, 2));
    assert.notEqual(first.lookupTag, '');
    const second = await ledger.lookUpReceipts({ requesterId: other.requesterId }, first.lookupTag);
    assert.deepEqual(second, { totalCount: 3, lookupTag: '', ids: [orders[2]] });

    await chain.ledger(Account.WORKER).updateReceipt(makeReceiptUpdate(orders[1]!, worker.secrets.workerId, worker.secrets.signingKey, ReceiptStatus.PROCESSED));
    assert.deepEqual(await ledger.lookUpReceipts({ requesterId: other.requesterId, receiptStatus: ReceiptStatus.PROCESSED }), {
      totalCount: 1,
      lookupTag: '',
      ids: [orders[1]],
    });
    assert.deepEqual(await ledger.lookUpReceipts({ requesterId: other.requesterId, receiptStatus: ReceiptStatus.PENDING }), {
      totalCount: 2,
      lookupTag: '',
      ids: [orders[0], orders[2]],
    });
    assert.equal((await ledger.lookUpReceipts({ requesterId: other.requesterId, receiptStatus: ReceiptStatus.ANY })).totalCount, 3);
    assert.equal((await ledger.lookUpReceipts({ requesterId: other.requesterId, workerId: worker.secrets.workerId, workerServiceId: worker.secrets.workerId })).totalCount, 3);
    assert.equal((await ledger.lookUpReceipts({ requesterId: other.requesterId, workerId: randomId() })).totalCount, 0);

    // Every receipt of this file is this worker's: the worker's lookup pages through all of them.
    const all: string[] = [];
    let page = await ledger.lookUpReceipts({ workerId: worker.secrets.workerId });
    all.push(...page.ids);
    while (page.lookupTag !== '') {
      page = await ledger.lookUpReceipts({ workerId: worker.secrets.workerId }, page.lookupTag);
      all.push(...page.ids);
    }
    assert.equal(all.length, page.totalCount);
    assert.deepEqual(all.slice(-3), orders);
  });

  it('stores the receipt of a completed work order alongside its response', async () => {
    const built = await submitted();
    await chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, successResponse(1, workOrderResult(worker, built)));
    const receipt = makeReceipt(built, requester, ReceiptStatus.COMPLETED);
    await chain.ledger(Account.REQUESTER).createReceipt(receipt);
    assert.deepEqual(await chain.ledger(Account.WORKER).retrieveReceipt(built.params.workOrderId), { ...receipt, receiptCurrentStatus: ReceiptStatus.COMPLETED });
  });
});
