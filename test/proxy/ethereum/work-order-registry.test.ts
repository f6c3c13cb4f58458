/**
 * WorkOrderRegistry on a real EVM (anvil): submit and complete with their events, real encrypted
 * requests and signed results read back intact (including one larger than a contract's code limit,
 * stored in chunks), the event iterator a connector follows, and the access rules: one submission per
 * id, only to a known active worker, completed once and only by the worker's registrant account.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, WorkerStatus, errorResponse, successResponse, TcfError } from '../../../src/protocol/index.js';
import { WorkOrderStatus } from '../../../src/proxy/ethereum/index.js';
import {
  Account,
  assertReverts,
  eventsOf,
  makeRequester,
  makeWorker,
  makeWorkOrder,
  randomId,
  startTestChain,
  workOrderResult,
  type TestChain,
  type TestWorker,
} from './fixtures.js';

describe('WorkOrderRegistry', () => {
  let chain: TestChain;
  let worker: TestWorker;
  const requester = makeRequester();

  before(async () => {
    chain = await startTestChain();
    worker = makeWorker();
    await chain.ledger(Account.WORKER).registerWorker(worker.register);
  });

  after(async () => {
    await chain?.stop();
  });

  it('submits a work order: it reads back as submitted with its request, and workOrderSubmitted carries the request and the sender', async () => {
    const built = makeWorkOrder(worker, requester);
    const mined = await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);

    const order = await chain.ledger(Account.STRANGER).getWorkOrder(built.params.workOrderId);
    assert.deepEqual(order, { workOrderId: built.params.workOrderId, workerId: worker.secrets.workerId, status: WorkOrderStatus.SUBMITTED, request: built.params });

    const [event] = await eventsOf(chain.contract('WorkOrderRegistry', Account.STRANGER), mined.transactionHash);
    assert.equal(event!.name, 'workOrderSubmitted');
    assert.equal(event!.args.getValue('workOrderId'), `0x${built.params.workOrderId}`);
    assert.equal(event!.args.getValue('workerId'), `0x${worker.secrets.workerId}`);
    assert.equal(event!.args.getValue('requesterId'), `0x${built.params.requesterId}`);
    assert.deepEqual(JSON.parse(event!.args.getValue('workOrderRequest') as string), built.params);
    assert.equal(event!.args.getValue('senderAddress'), chain.anvil.accounts[Account.REQUESTER]!.address);
  });

  it("completes a work order with the worker's signed result, announced by workOrderCompleted", async () => {
    const built = makeWorkOrder(worker, requester);
    await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);
    const response = successResponse(1, workOrderResult(worker, built));
    const mined = await chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, response);

    const order = await chain.ledger(Account.REQUESTER).getWorkOrder(built.params.workOrderId);
    assert.equal(order?.status, WorkOrderStatus.COMPLETED);
    assert.deepEqual(order?.response, response);
    assert.deepEqual(order?.request, built.params);

    const [event] = await eventsOf(chain.contract('WorkOrderRegistry', Account.STRANGER), mined.transactionHash);
    assert.equal(event!.name, 'workOrderCompleted');
    assert.equal(event!.args.getValue('workOrderId'), `0x${built.params.workOrderId}`);
    assert.equal(event!.args.getValue('workerId'), `0x${worker.secrets.workerId}`);
    assert.equal(event!.args.getValue('workOrderStatus'), BigInt(WorkOrderStatus.COMPLETED));
    assert.deepEqual(JSON.parse(event!.args.getValue('workOrderResponse') as string), response);
  });

  it('completes a work order with an error response', async () => {
    const built = makeWorkOrder(worker, requester);
    await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);
    const response = errorResponse(null, new TcfError(ErrorCode.INVALID_WORKLOAD, 'workload "nope" is not installed'));
    await chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, response);
    assert.deepEqual((await chain.ledger(Account.REQUESTER).getWorkOrder(built.params.workOrderId))?.response, response);
  });

  it('keeps a request larger than one contract can hold (40 KiB of input) intact', async () => {
    const built = makeWorkOrder(worker, requester, 40 * 1024);
    assert.ok(JSON.stringify(built.params).length > 2 * 24_575);
    await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);
    const response = successResponse(1, workOrderResult(worker, built));
    await chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, response);
    const order = await chain.ledger(Account.REQUESTER).getWorkOrder(built.params.workOrderId);
    assert.deepEqual(order?.request, built.params);
    assert.deepEqual(order?.response, response);
  });

  it('accepts a work order id once, from whichever account', async () => {
    const built = makeWorkOrder(worker, requester);
    await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);
    for (const account of [Account.REQUESTER, Account.STRANGER]) {
      await assertReverts(chain.ledger(account).submitWorkOrder(built.params), 'WorkOrderRegistry: work order id already submitted');
    }
  });

  it('refuses work orders for an unknown worker and for a worker that is not active', async () => {
    const stranger = makeWorker();
    await assertReverts(chain.ledger(Account.REQUESTER).submitWorkOrder(makeWorkOrder(stranger, requester).params), 'WorkOrderRegistry: unknown worker');

    const resting = makeWorker();
    await chain.ledger(Account.WORKER).registerWorker(resting.register);
    for (const status of [WorkerStatus.OFF_LINE, WorkerStatus.DECOMMISSIONED, WorkerStatus.COMPROMISED]) {
      await chain.ledger(Account.WORKER).setWorkerStatus({ workerId: resting.secrets.workerId, status });
      await assertReverts(chain.ledger(Account.REQUESTER).submitWorkOrder(makeWorkOrder(resting, requester).params), 'WorkOrderRegistry: worker is not active');
    }
    await chain.ledger(Account.WORKER).setWorkerStatus({ workerId: resting.secrets.workerId, status: WorkerStatus.ACTIVE });
    await chain.ledger(Account.REQUESTER).submitWorkOrder(makeWorkOrder(resting, requester).params);
  });

  it("lets only the account that registered the work order's worker complete it, and only once", async () => {
    const built = makeWorkOrder(worker, requester);
    await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);
    const response = successResponse(1, workOrderResult(worker, built));
    for (const account of [Account.REQUESTER, Account.STRANGER, Account.OWNER]) {
      await assertReverts(
        chain.ledger(account).completeWorkOrder(built.params.workOrderId, response),
        "WorkOrderRegistry: only the account that registered the work order's worker may complete it",
      );
    }
    await chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, response);
    await assertReverts(chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, response), 'WorkOrderRegistry: work order already completed');
    await assertReverts(chain.contract('WorkOrderRegistry', Account.WORKER).workOrderComplete!(`0x${randomId()}`, '{}'), 'WorkOrderRegistry: unknown work order');
  });

  it('lets a worker that went off-line still complete the work orders it had accepted', async () => {
    const busy = makeWorker();
    await chain.ledger(Account.WORKER).registerWorker(busy.register);
    const built = makeWorkOrder(busy, requester);
    await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);
    await chain.ledger(Account.WORKER).setWorkerStatus({ workerId: busy.secrets.workerId, status: WorkerStatus.OFF_LINE });
    await chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, successResponse(1, workOrderResult(busy, built)));
    assert.equal((await chain.ledger(Account.REQUESTER).getWorkOrder(built.params.workOrderId))?.status, WorkOrderStatus.COMPLETED);
  });

  it('refuses, before any transaction, a response that is not for the work order or not a response', async () => {
    const built = makeWorkOrder(worker, requester);
    const otherResult = workOrderResult(worker, makeWorkOrder(worker, requester));
    await assert.rejects(
      chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, successResponse(1, otherResult)),
      /workOrderResponse\.result\.workOrderId: is not the work order's id/,
    );
    await assert.rejects(
      chain.ledger(Account.WORKER).completeWorkOrder(built.params.workOrderId, successResponse(1, { workOrderId: built.params.workOrderId })),
      /workOrderResponse\.result\.workloadId: is required/,
    );
  });

  it('reports no work order for an id never submitted, and refuses the empty request and response', async () => {
    assert.equal(await chain.ledger(Account.STRANGER).getWorkOrder(randomId()), undefined);
    const raw = chain.contract('WorkOrderRegistry', Account.REQUESTER);
    await assertReverts(raw.workOrderSubmit!(`0x${randomId()}`, `0x${worker.secrets.workerId}`, `0x${randomId()}`, ''), 'WorkOrderRegistry: request is empty');
    await assertReverts(raw.workOrderSubmit!(`0x${'00'.repeat(32)}`, `0x${worker.secrets.workerId}`, `0x${randomId()}`, '{}'), 'WorkOrderRegistry: work order id is zero');
    const built = makeWorkOrder(worker, requester);
    await chain.ledger(Account.REQUESTER).submitWorkOrder(built.params);
    await assertReverts(chain.contract('WorkOrderRegistry', Account.WORKER).workOrderComplete!(`0x${built.params.workOrderId}`, ''), 'WorkOrderRegistry: response is empty');
  });

  it('iterates workOrderSubmitted events in chain order with their positions, across query windows, flagging malformed requests', async () => {
    const ledger = chain.ledger(Account.REQUESTER);
    const first = makeWorkOrder(worker, requester);
    const second = makeWorkOrder(worker, requester);
    const fromBlock = (await ledger.submitWorkOrder(first.params)).blockNumber;
    // Anyone can put anything on chain: a request that is not JSON of a work order, and one whose ids disagree with the event's.
    const raw = chain.contract('WorkOrderRegistry', Account.STRANGER);
    const garbageId = randomId();
    await (await raw.workOrderSubmit!(`0x${garbageId}`, `0x${worker.secrets.workerId}`, `0x${randomId()}`, '{"hello":')).wait();
    const mismatchedId = randomId();
    await (await raw.workOrderSubmit!(`0x${mismatchedId}`, `0x${worker.secrets.workerId}`, `0x${second.params.requesterId}`, JSON.stringify(second.params))).wait();
    const last = await ledger.submitWorkOrder(second.params);

    const events = [];
    for await (const event of ledger.workOrderSubmittedEvents(fromBlock, 'latest', { blocksPerQuery: 1 })) events.push(event);
    assert.deepEqual(
      events.map((event) => event.workOrderId),
      [first.params.workOrderId, garbageId, mismatchedId, second.params.workOrderId],
    );

    const [firstEvent, garbage, mismatched, lastEvent] = events;
    assert.deepEqual(firstEvent!.request, { ok: true, value: first.params });
    assert.equal(firstEvent!.workerId, worker.secrets.workerId);
    assert.equal(firstEvent!.requesterId, first.params.requesterId);
    assert.equal(firstEvent!.requesterAccount, chain.anvil.accounts[Account.REQUESTER]!.address);
    assert.equal(firstEvent!.blockNumber, fromBlock);
    const block = await chain.anvil.provider.getBlock(fromBlock);
    assert.equal(firstEvent!.blockHash, block?.hash);
    assert.equal(typeof firstEvent!.logIndex, 'number');
    assert.equal(lastEvent!.transactionHash, last.transactionHash);
    assert.equal(garbage!.requesterAccount, chain.anvil.accounts[Account.STRANGER]!.address);

    assert.equal(garbage!.request.ok, false);
    assert.equal(!garbage!.request.ok && garbage!.request.error.code, ErrorCode.INVALID_PARAMETER);
    assert.match(!garbage!.request.ok ? garbage!.request.error.message : '', /workOrderRequest: is not JSON/);
    assert.equal(mismatched!.request.ok, false);
    assert.match(!mismatched!.request.ok ? mismatched!.request.error.message : '', /workOrderRequest\.workOrderId: is not the work order's id/);

    // Both bounds are inclusive: each transaction here was mined in a block of its own.
    const inner = [];
    for await (const event of ledger.workOrderSubmittedEvents(fromBlock + 1, last.blockNumber - 1)) inner.push(event.workOrderId);
    assert.deepEqual(inner, [garbageId, mismatchedId]);
    const justFirst = [];
    for await (const event of ledger.workOrderSubmittedEvents(fromBlock, fromBlock)) justFirst.push(event.workOrderId);
    assert.deepEqual(justFirst, [first.params.workOrderId]);
  });
});
