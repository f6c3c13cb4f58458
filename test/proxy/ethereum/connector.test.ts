/**
 * The proxy model end to end on a real anvil chain: a real TCS (store, enclave manager, worker
 * processes) with the Ethereum connector on its store, and requesters using TcfClient through the
 * contracts — the same verification as the direct model, every example workload, receipts with the
 * worker's signed update, bad requests on chain, and chain re-organisations shallower and deeper than
 * the connector's confirmations.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RpcCallError, TcfClient } from '../../../src/client/index.js';
import { generateSigningKey, requesterIdForKey } from '../../../src/crypto/index.js';
import { createLogger } from '../../../src/log/index.js';
import { ErrorCode, LAST_RECEIPT_UPDATE, ReceiptStatus } from '../../../src/protocol/index.js';
import {
  EthereumConnector,
  EthereumRequesterBackend,
  WorkOrderStatus,
  type EthereumLedger,
} from '../../../src/proxy/ethereum/index.js';
import { startTestNode, type TestNode } from '../../helpers/in-process-node.js';
import { PROJECT_ROOT } from '../../helpers/node-process.js';
import { Account, eventually, makeRequester, makeWorker, makeWorkOrder, randomId, startTestChain, type TestChain } from './fixtures.js';

const REQUESTER_ACCOUNT = Account.REQUESTER;
const CONNECTOR_ACCOUNT = Account.WORKER;

interface Bridge {
  tcs: TestNode;
  connector: EthereumConnector;
  client: TcfClient;
  ledger: EthereumLedger;
  workerId: string;
  stop(): Promise<void>;
}

async function startBridge(chain: TestChain, name: string, confirmations: number, maxPendingWorkOrders = 100): Promise<Bridge> {
  const tcs = await startTestNode(name, { workers: { workloadModules: [path.join(PROJECT_ROOT, 'test/fixtures/fault-workloads.ts')] } });
  const connector = new EthereumConnector({
    ledger: chain.ledger(CONNECTOR_ACCOUNT),
    deployment: chain.deployment,
    store: tcs.node.store,
    dataDir: tcs.node.config.dataDir,
    confirmations,
    pollIntervalMs: 50,
    // Every pass compares the workers with the chain, so a change in the TCS shows on chain at once.
    workerSyncIntervalMs: 0,
    maxPendingWorkOrders,
    log: createLogger('connector', { level: 'silent' }),
  });
  await connector.start();
  const ledger = chain.ledger(REQUESTER_ACCOUNT);
  const client = new TcfClient(new EthereumRequesterBackend(ledger, chain.deployment), { pollIntervalMs: 50 });
  return {
    tcs,
    connector,
    client,
    ledger,
    workerId: tcs.workerId,
    async stop() {
      await connector.stop();
      await tcs.stop();
    },
  };
}

describe('Ethereum connector: work orders through the chain', () => {
  let chain: TestChain;
  let bridge: Bridge;

  before(async () => {
    chain = await startTestChain();
    bridge = await startBridge(chain, 'connector', 0);
  });
  after(async () => {
    await bridge?.stop();
    await chain?.stop();
  });

  it('registers the TCS worker on chain with the connector account as its registrant', async () => {
    const ids = await bridge.client.lookUpWorkers();
    assert.deepEqual(ids, [bridge.workerId]);
    const onChain = await bridge.ledger.retrieveWorker(bridge.workerId);
    const local = await bridge.tcs.node.store.getWorker(bridge.workerId);
    assert.deepEqual(onChain?.details, local?.details);
    // Only the registrant may change a worker: the connector's own update goes through, a stranger's is refused.
    await chain.ledger(CONNECTOR_ACCOUNT).setWorkerStatus({ workerId: bridge.workerId, status: 1 });
    await assert.rejects(chain.ledger(Account.STRANGER).setWorkerStatus({ workerId: bridge.workerId, status: 2 }), /only the account that registered the worker/);
  });

  it('a worker\'s new status and details in the TCS reach the chain on the next pass', async () => {
    const store = bridge.tcs.node.store;
    const original = (await store.getWorker(bridge.workerId))!;
    try {
      await store.updateWorker(bridge.workerId, { status: 2, details: { ...original.details, workOrderSyncUri: 'https://tcs.example/moved' } });
      await bridge.connector.step();
      const onChain = await bridge.ledger.retrieveWorker(bridge.workerId);
      assert.equal(onChain?.status, 2);
      assert.equal(onChain?.details.workOrderSyncUri, 'https://tcs.example/moved');
    } finally {
      await store.updateWorker(bridge.workerId, { status: original.status, details: original.details });
      await bridge.connector.step();
    }
    assert.deepEqual(await bridge.ledger.retrieveWorker(bridge.workerId), original);
  });

  for (const [workload, input, expected] of [
    ['echo-result', 'through the chain', /^RESULT: through the chain$/],
    ['heart-disease-eval', 'Data: 25 10 1 67 102 125 1 95 5 10 1 11 36 1', /^You have a \d+% risk of heart disease$/],
    ['inside-out-eval', 'write chain.txt kept-by-the-tcs', /^RESULT: FILE WRITE SUCCESS$/],
  ] as const) {
    it(`${workload}: submitted on chain, run by the TCS, completed on chain, verified, with the worker's receipt update`, async () => {
      const signer = generateSigningKey();
      const submission = await bridge.client.submit({ workerId: bridge.workerId, workload, inputs: [input], signer });
      assert.equal(submission.opened, undefined, 'a ledger never answers a submission at once');
      await bridge.client.createReceipt(submission, signer);
      const opened = await bridge.client.waitForResult(submission, { timeoutMs: 30_000 });
      assert.match(opened.outData[0]!.data.toString(), expected);

      const onChain = await bridge.ledger.getWorkOrder(submission.workOrderId);
      assert.equal(onChain?.status, WorkOrderStatus.COMPLETED);
      const update = await eventually('the worker receipt update', () => bridge.ledger.retrieveReceiptUpdate(submission.workOrderId, LAST_RECEIPT_UPDATE, bridge.workerId));
      assert.equal(update.updateType, ReceiptStatus.PROCESSED);
      assert.equal(update.updateCount, 1);
      const receipt = await bridge.client.retrieveReceipt(submission.workOrderId);
      assert.equal(receipt.receiptCurrentStatus, ReceiptStatus.PROCESSED);
      assert.equal(receipt.requesterId, requesterIdForKey(signer.publicKey));
    });
  }

  it('inside-out-eval reads back through the chain what an earlier work order wrote', async () => {
    const opened = await bridge.client.run({ workerId: bridge.workerId, workload: 'inside-out-eval', inputs: ['read chain.txt'] }, { timeoutMs: 30_000 });
    assert.match(opened.outData[0]!.data.toString(), /kept-by-the-tcs/);
  });

  it('a receipt created after completion still gets the worker update, once', async () => {
    const signer = generateSigningKey();
    const submission = await bridge.client.submit({ workerId: bridge.workerId, workload: 'echo-result', inputs: ['late receipt'], signer });
    await bridge.client.waitForResult(submission, { timeoutMs: 30_000 });
    await bridge.client.createReceipt(submission, signer);
    const update = await eventually('the worker receipt update', () => bridge.ledger.retrieveReceiptUpdate(submission.workOrderId, LAST_RECEIPT_UPDATE, bridge.workerId));
    assert.equal(update.updateCount, 1);
    // Later passes re-check and add nothing.
    await bridge.connector.step();
    await bridge.connector.step();
    const all = await bridge.ledger.retrieveReceiptUpdate(submission.workOrderId, LAST_RECEIPT_UPDATE);
    assert.equal(all?.updateCount, 1);
  });

  it('a worker error travels back as the spec error code, and the receipt says FAILED', async () => {
    const signer = generateSigningKey();
    const submission = await bridge.client.submit({ workerId: bridge.workerId, workload: 'no-such-workload', inputs: ['x'], signer });
    await bridge.client.createReceipt(submission, signer);
    await assert.rejects(bridge.client.waitForResult(submission, { timeoutMs: 30_000 }), (error: unknown) => error instanceof RpcCallError && error.code === ErrorCode.INVALID_WORKLOAD);
    const update = await eventually('the worker receipt update', () => bridge.ledger.retrieveReceiptUpdate(submission.workOrderId, LAST_RECEIPT_UPDATE, bridge.workerId));
    assert.equal(update.updateType, ReceiptStatus.FAILED);
  });

  it('a request on chain that is not a valid work order is completed with a clear error and never reaches the TCS', async () => {
    const workOrderId = randomId();
    const registry = chain.contract('WorkOrderRegistry', REQUESTER_ACCOUNT);
    await (await registry.getFunction('workOrderSubmit')(`0x${workOrderId}`, `0x${bridge.workerId}`, `0x${randomId()}`, '{"not":"a work order"')).wait();
    const order = await eventually('the error completion', async () => {
      const found = await chain.contract('WorkOrderRegistry', REQUESTER_ACCOUNT).getFunction('workOrderGet')(`0x${workOrderId}`);
      return Number(found[0]) === WorkOrderStatus.COMPLETED ? (found[3] as string) : undefined;
    });
    const response = JSON.parse(order) as { error: { code: number; message: string } };
    assert.equal(response.error.code, ErrorCode.INVALID_PARAMETER);
    assert.match(response.error.message, /workOrderRequest: is not JSON/);
    assert.equal(await bridge.tcs.node.store.getWorkOrder(workOrderId), undefined);
  });

  it('work orders for a worker another account registered are left to that account', async () => {
    const foreign = makeWorker();
    await chain.ledger(Account.STRANGER).registerWorker(foreign.register);
    const requester = chain.ledger(REQUESTER_ACCOUNT);
    const built = makeWorkOrder(foreign, makeRequester());
    await requester.submitWorkOrder(built.params);
    await bridge.connector.step();
    assert.equal(await bridge.tcs.node.store.getWorkOrder(built.params.workOrderId), undefined);
    assert.equal((await requester.getWorkOrder(built.params.workOrderId))?.status, WorkOrderStatus.SUBMITTED);
  });
});

describe('Ethereum connector: back-pressure and re-organisations', () => {
  let chain: TestChain;

  before(async () => {
    chain = await startTestChain();
  });
  after(async () => {
    await chain?.stop();
  });

  it('a full TCS queue makes the connector wait: every work order submitted on chain still completes', async () => {
    const bridge = await startBridge(chain, 'busy', 0, 2);
    try {
      // A workload that takes 100 ms each keeps two work orders in the queue while the rest arrive.
      const submissions = [];
      for (let index = 0; index < 8; index += 1) submissions.push(await bridge.client.submit({ workerId: bridge.workerId, workload: 'test-slow', inputs: [`queued ${index}`] }));
      for (const [index, submission] of submissions.entries()) {
        assert.equal((await bridge.client.waitForResult(submission, { timeoutMs: 30_000 })).outData[0]!.data.toString(), `queued ${index}`);
      }
      assert.equal(bridge.connector.status.handedOff, 8);
      assert.ok(bridge.connector.status.queueFullWaits > 0, 'the queue never filled: the test did not exercise back-pressure');
    } finally {
      await bridge.stop();
    }
  });

  it('never acts on a work order until it is `confirmations` blocks deep, so a shallower re-org cannot touch it', async () => {
    const bridge = await startBridge(chain, 'reorg-shallow', 3);
    try {
      const provider = chain.anvil.provider;
      const snapshot = (await provider.send('evm_snapshot', [])) as string;
      const submission = await bridge.client.submit({ workerId: bridge.workerId, workload: 'echo-result', inputs: ['orphaned'] });
      await provider.send('anvil_mine', ['0x2']);
      await bridge.connector.step();
      await bridge.connector.step();
      assert.equal(await bridge.tcs.node.store.getWorkOrder(submission.workOrderId), undefined, 'acted before 3 confirmations');
      // The block with the submission is dropped from the chain, and with it the requester's transaction.
      await provider.send('evm_revert', [snapshot]);
      bridge.ledger.forgetNonce();
      await provider.send('anvil_mine', ['0x6']);
      await bridge.connector.step();
      assert.equal(await bridge.tcs.node.store.getWorkOrder(submission.workOrderId), undefined, 'ran a work order that is no longer on chain');

      const kept = await bridge.client.submit({ workerId: bridge.workerId, workload: 'echo-result', inputs: ['kept'] });
      await provider.send('anvil_mine', ['0x3']);
      const wait = bridge.client.waitForResult(kept, { timeoutMs: 30_000 });
      // Completions also wait for their confirmations before the connector forgets them.
      const mining = setInterval(() => void provider.send('anvil_mine', ['0x1']).catch(() => undefined), 100);
      try {
        const opened = await wait;
        assert.equal(opened.outData[0]!.data.toString(), 'RESULT: kept');
        await eventually('the completion to be confirmed', async () => (bridge.connector.status.owed === 0 ? true : undefined));
      } finally {
        clearInterval(mining);
      }
    } finally {
      await bridge.stop();
    }
  });

  it('a re-org deeper than the confirmations is noticed, and the replayed chain is served once', async () => {
    const bridge = await startBridge(chain, 'reorg-deep', 0);
    try {
      const provider = chain.anvil.provider;
      const snapshot = (await provider.send('evm_snapshot', [])) as string;
      const signer = generateSigningKey();
      const submission = await bridge.client.submit({ workerId: bridge.workerId, workload: 'echo-result', inputs: ['twice on two chains'], signer });
      await bridge.client.waitForResult(submission, { timeoutMs: 30_000 });
      await eventually('the connector to be done with it', async () => (bridge.connector.status.owed === 0 ? true : undefined));

      const cursorBefore = bridge.connector.status.cursorBlock;
      // Drop the submission and its completion, and replay the same request on the new branch at a
      // height the connector has already read: only noticing the re-org makes it read that block again.
      await provider.send('evm_revert', [snapshot]);
      bridge.ledger.forgetNonce();
      assert.equal(await bridge.ledger.getWorkOrder(submission.workOrderId), undefined);
      const replay = await bridge.ledger.submitWorkOrder(submission.built.params);
      assert.ok(replay.blockNumber <= cursorBefore, `replayed at ${replay.blockNumber}, cursor was ${cursorBefore}`);
      await provider.send('anvil_mine', ['0x5']);
      const replayed = await bridge.client.waitForResult({ ...submission, opened: undefined }, { timeoutMs: 30_000 });
      assert.equal(replayed.outData[0]!.data.toString(), 'RESULT: twice on two chains');
      // The TCS ran it once: the store's copy was reused, not run again.
      assert.equal((await bridge.tcs.node.store.getWorkOrder(submission.workOrderId))?.attempts, 1);
    } finally {
      await bridge.stop();
    }
  });
});
