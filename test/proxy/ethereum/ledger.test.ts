/**
 * EthereumLedger end to end on a real EVM (anvil), with real TCF cryptography: a worker registers its
 * attested keys on chain; a requester finds it there, trusts it, and submits an encrypted signed work
 * order; the worker follows the submission events, runs it and completes it; the requester verifies
 * and decrypts the result read from the chain; then the receipt is created, updated and read back.
 * The gas of each operation is recorded from the receipts. Also: the deployment file, the chain check,
 * nonces under concurrent sends, a read-only ledger, and anvil's own start and stop.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEVELOPMENT_POLICY, trustWorker } from '../../../src/attestation/index.js';
import { textToHex, utf8 } from '../../../src/crypto/index.js';
import { LAST_RECEIPT_UPDATE, ReceiptStatus, WorkerStatus, successResponse } from '../../../src/protocol/index.js';
import {
  EthereumLedger,
  readDeploymentFile,
  startAnvil,
  WorkOrderStatus,
  writeDeploymentFile,
  type LedgerTransaction,
  type WorkOrderSubmittedEvent,
} from '../../../src/proxy/ethereum/index.js';
import { buildWorkOrder, openWorkOrder, openWorkOrderResult, sealWorkOrderResult } from '../../../src/workorder/index.js';
import {
  Account,
  APPLICATION_TYPE_ID,
  makeReceipt,
  makeReceiptUpdate,
  makeRequester,
  makeWorker,
  makeWorkOrder,
  startTestChain,
  type TestChain,
} from './fixtures.js';

describe('EthereumLedger end to end', () => {
  let chain: TestChain;

  before(async () => {
    chain = await startTestChain();
  });

  after(async () => {
    await chain?.stop();
  });

  it("carries a work order's whole life: register, trust from chain, submit, follow, complete, verify, receipt", async (t) => {
    const gas: Record<string, bigint> = {};
    const record = (operation: string, mined: LedgerTransaction) => {
      gas[operation] = mined.gasUsed;
      return mined;
    };
    const workerLedger = chain.ledger(Account.WORKER);
    const requesterLedger = chain.ledger(Account.REQUESTER);
    const worker = makeWorker({ rsaBits: 3072 });
    const requester = makeRequester();
    const workerId = worker.secrets.workerId;

    record('register', await workerLedger.registerWorker(worker.register));

    // The requester knows nothing but the chain: it finds the worker, and trusts it only on its evidence.
    const found = await requesterLedger.lookUpWorkers({ applicationTypeId: APPLICATION_TYPE_ID });
    assert.ok(found.ids.includes(workerId));
    const registered = await requesterLedger.retrieveWorker(workerId);
    assert.ok(registered);
    const trusted = await trustWorker(registered, DEVELOPMENT_POLICY);
    const built = buildWorkOrder({ worker: trusted.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'hello, chain' }], signer: requester.signer });
    const workOrderId = built.params.workOrderId;
    record('submit', await requesterLedger.submitWorkOrder(built.params));

    // The worker follows the submissions from the deployment block on and picks out its own.
    const mine: WorkOrderSubmittedEvent[] = [];
    for await (const event of workerLedger.workOrderSubmittedEvents(chain.deployment.deployedAtBlock, 'latest')) {
      if (event.workerId === workerId) mine.push(event);
    }
    assert.equal(mine.length, 1);
    const [submitted] = mine;
    assert.ok(submitted!.request.ok);
    assert.equal(submitted!.requesterAccount, chain.anvil.accounts[Account.REQUESTER]!.address);
    const opened = openWorkOrder(submitted!.request.value, worker.secrets);
    const outputs = opened.inputs.map((input) => ({ index: input.index, data: utf8(input.data.toString('utf8').toUpperCase()) }));
    const { result } = sealWorkOrderResult(opened, outputs, worker.secrets);
    record('complete', await workerLedger.completeWorkOrder(workOrderId, successResponse(1, result)));

    // The requester reads the result from the chain and believes it only once it verifies.
    const order = await requesterLedger.getWorkOrder(workOrderId);
    assert.equal(order?.status, WorkOrderStatus.COMPLETED);
    assert.ok(order?.response && 'result' in order.response);
    const verified = openWorkOrderResult(order.response.result, built, trusted.keys);
    assert.deepEqual(verified.outData.map((output) => output.data.toString('utf8')), ['HELLO, CHAIN']);

    const receipt = makeReceipt(built, requester);
    record('receipt create', await requesterLedger.createReceipt(receipt));
    const closing = makeReceiptUpdate(workOrderId, workerId, worker.secrets.signingKey, ReceiptStatus.COMPLETED, result);
    record('receipt update', await workerLedger.updateReceipt(closing));
    assert.deepEqual(await requesterLedger.retrieveReceipt(workOrderId), { ...receipt, receiptCurrentStatus: ReceiptStatus.COMPLETED });
    assert.deepEqual(await requesterLedger.retrieveReceiptUpdate(workOrderId, LAST_RECEIPT_UPDATE), { ...closing, updateCount: 1 });
    assert.deepEqual((await requesterLedger.lookUpReceipts({ workerId, receiptStatus: ReceiptStatus.COMPLETED })).ids, [workOrderId]);

    // A key rotation replaces the details; the worker stays trusted on its new key.
    const rotated = makeWorker({ rsaBits: 3072, workerId }).details;
    record('update', await workerLedger.updateWorker({ workerId, details: rotated }));
    assert.equal((await trustWorker((await requesterLedger.retrieveWorker(workerId))!, DEVELOPMENT_POLICY)).keys.encryptionKeyPem, rotated.workerTypeData.encryptionKey);

    for (const [operation, used] of Object.entries(gas)) t.diagnostic(`gas ${operation}: ${used}`);
    // Bands around the measured figures (BENCHMARKS.md): well above the 21,000 of a bare transaction,
    // well below what storing these JSON strings in contract storage would cost.
    const bands: Record<string, [number, number]> = {
      register: [300_000, 1_000_000],
      update: [250_000, 900_000],
      submit: [250_000, 900_000],
      complete: [150_000, 600_000],
      'receipt create': [150_000, 500_000],
      'receipt update': [100_000, 400_000],
    };
    for (const [operation, [low, high]] of Object.entries(bands)) {
      const used = Number(gas[operation]);
      assert.ok(used > low && used < high, `${operation} used ${used} gas, outside ${low}–${high}`);
    }
  });

  it('gives each of many concurrent submissions from one account its own nonce', async () => {
    const worker = makeWorker();
    const requester = makeRequester();
    await chain.ledger(Account.WORKER).registerWorker(worker.register);
    const orders = Array.from({ length: 6 }, () => makeWorkOrder(worker, requester));
    // One of them is refused by the contract; the others must not be held up or lose their nonces.
    const duplicate = orders[2]!;
    const outcomes = await Promise.allSettled([...orders, duplicate].map((built) => chain.ledger(Account.REQUESTER).submitWorkOrder(built.params)));
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, orders.length);
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(refused.length, 1);
    for (const built of orders) assert.equal((await chain.ledger(Account.STRANGER).getWorkOrder(built.params.workOrderId))?.status, WorkOrderStatus.SUBMITTED);
    // The account is also used outside the ledger; the ledger recounts its nonce and carries on.
    await (await chain.anvil.wallet(Account.REQUESTER).sendTransaction({ to: chain.anvil.accounts[Account.STRANGER]!.address, value: 1n })).wait();
    await chain.ledger(Account.REQUESTER).submitWorkOrder(makeWorkOrder(worker, requester).params);
  });

  it('writes and reads back the deployment file, and connects only to the chain it names', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-deployment-'));
    try {
      const file = path.join(directory, 'contracts.json');
      writeDeploymentFile(file, chain.deployment);
      const deployment = readDeploymentFile(file);
      assert.deepEqual(deployment, chain.deployment);
      assert.equal(deployment.chainId, 31337);

      const ledger = await EthereumLedger.connect({ deployment, artifacts: chain.artifacts, runner: chain.anvil.provider });
      const worker = makeWorker();
      await chain.ledger(Account.WORKER).registerWorker(worker.register);
      assert.equal((await ledger.retrieveWorker(worker.secrets.workerId))?.status, WorkerStatus.ACTIVE);

      await assert.rejects(
        EthereumLedger.connect({ deployment: { ...deployment, chainId: 1 }, artifacts: chain.artifacts, runner: chain.anvil.provider }),
        /the node is on chain 31337, but the contracts were deployed on chain 1/,
      );
      fs.writeFileSync(file, JSON.stringify({ ...deployment, addresses: { ...deployment.addresses, workOrderRegistry: '0x1234' } }));
      assert.throws(() => readDeploymentFile(file), /addresses\.workOrderRegistry must be an Ethereum address/);
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  it('reads with a provider alone, and refuses to send without a signer', async () => {
    const reader = new EthereumLedger({ deployment: chain.deployment, artifacts: chain.artifacts, runner: chain.anvil.provider });
    const worker = makeWorker();
    await assert.rejects(reader.registerWorker(worker.register), /workerRegister: the ledger was given no signer, so it can only read/);
    assert.equal(await reader.retrieveWorker(worker.secrets.workerId), undefined);
  });
});

describe('anvil', () => {
  it('listens on 127.0.0.1 on a port of its own, with the development accounts funded, and is gone after stop()', async () => {
    const [first, second] = await Promise.all([startAnvil({ accounts: 2 }), startAnvil({ accounts: 2 })]);
    try {
      for (const node of [first, second]) assert.match(node.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(first.rpcUrl, second.rpcUrl);
      assert.equal(first.accounts.length, 2);
      assert.equal(first.accounts[0]!.address, '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
      assert.equal(await first.provider.getBalance(first.accounts[1]!.address), 10_000n * 10n ** 18n);
      assert.throws(() => first.wallet(2), /there is no account 2/);
    } finally {
      await first.stop();
    }
    const request = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) };
    await assert.rejects(fetch(first.rpcUrl, request));
    assert.equal((await (await fetch(second.rpcUrl, request)).json() as { result: string }).result, '0x7a69');
    await second.stop();
  });
});
