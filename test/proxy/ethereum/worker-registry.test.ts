/**
 * WorkerRegistry on a real EVM (anvil): registration, details and status updates with their events,
 * lookups by type, organization and application type page by page, and the access rule that only the
 * registering account changes a worker. Reverts are asserted by their reason text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, TcfError, WorkerStatus, WorkerType } from '../../../src/protocol/index.js';
import { Account, APPLICATION_TYPE_ID, assertReverts, eventsOf, makeWorker, ORGANIZATION_ID, randomId, startTestChain, type TestChain, type TestWorker } from './fixtures.js';

describe('WorkerRegistry', () => {
  let chain: TestChain;
  let worker: TestWorker;
  let registrantAddress: string;

  before(async () => {
    chain = await startTestChain({ lookUpPageSize: 2 });
    worker = makeWorker();
    registrantAddress = chain.anvil.accounts[Account.WORKER]!.address;
    await chain.ledger(Account.WORKER).registerWorker(worker.register);
  });

  after(async () => {
    await chain?.stop();
  });

  it('registers a worker: its record reads back with the details intact, and workerRegistered names the registrant', async () => {
    const other = makeWorker({ workerType: WorkerType.MPC, applicationTypeIds: [APPLICATION_TYPE_ID, randomId()] });
    const mined = await chain.ledger(Account.WORKER).registerWorker(other.register);

    const record = await chain.ledger(Account.STRANGER).retrieveWorker(other.register.workerId);
    assert.deepEqual(record, { ...other.register, status: WorkerStatus.ACTIVE });

    const [event, ...more] = await eventsOf(chain.contract('WorkerRegistry', Account.STRANGER), mined.transactionHash);
    assert.equal(more.length, 0);
    assert.equal(event!.name, 'workerRegistered');
    assert.equal(event!.args.getValue('workerId'), `0x${other.register.workerId}`);
    assert.equal(event!.args.getValue('registrant'), registrantAddress);
    assert.equal(event!.args.getValue('workerType'), BigInt(WorkerType.MPC));
    assert.equal(event!.args.getValue('organizationId'), `0x${ORGANIZATION_ID}`);
    assert.deepEqual(event!.args.getValue('applicationTypeIds').toArray(), other.register.applicationTypeId.map((id) => `0x${id}`));

    const [registrant, status] = await chain.contract('WorkerRegistry', Account.STRANGER).workerRegistrant!(`0x${other.register.workerId}`);
    assert.equal(registrant, registrantAddress);
    assert.equal(status, 1n);
  });

  it("updates a worker's details and status, emitting workerUpdated and workerStatusChanged", async () => {
    const ledger = chain.ledger(Account.WORKER);
    const rotated = makeWorker({ workerId: worker.register.workerId }).details;
    const updated = await ledger.updateWorker({ workerId: worker.register.workerId, details: rotated });
    assert.deepEqual((await ledger.retrieveWorker(worker.register.workerId))?.details, rotated);
    const [updateEvent] = await eventsOf(chain.contract('WorkerRegistry', Account.STRANGER), updated.transactionHash);
    assert.equal(updateEvent!.name, 'workerUpdated');
    assert.equal(updateEvent!.args.getValue('workerId'), `0x${worker.register.workerId}`);

    const offLine = await ledger.setWorkerStatus({ workerId: worker.register.workerId, status: WorkerStatus.OFF_LINE });
    assert.equal((await ledger.retrieveWorker(worker.register.workerId))?.status, WorkerStatus.OFF_LINE);
    const [statusEvent] = await eventsOf(chain.contract('WorkerRegistry', Account.STRANGER), offLine.transactionHash);
    assert.equal(statusEvent!.name, 'workerStatusChanged');
    assert.equal(statusEvent!.args.getValue('status'), BigInt(WorkerStatus.OFF_LINE));

    await ledger.setWorkerStatus({ workerId: worker.register.workerId, status: WorkerStatus.ACTIVE });
    assert.equal((await ledger.retrieveWorker(worker.register.workerId))?.status, WorkerStatus.ACTIVE);
  });

  it('lets only the registering account update a worker or set its status', async () => {
    const reason = 'WorkerRegistry: only the account that registered the worker may change it';
    for (const account of [Account.STRANGER, Account.REQUESTER, Account.OWNER]) {
      await assertReverts(chain.ledger(account).updateWorker({ workerId: worker.register.workerId, details: worker.details }), reason);
      await assertReverts(chain.ledger(account).setWorkerStatus({ workerId: worker.register.workerId, status: WorkerStatus.COMPROMISED }), reason);
    }
    assert.equal((await chain.ledger(Account.STRANGER).retrieveWorker(worker.register.workerId))?.status, WorkerStatus.ACTIVE);
  });

  it('registers a worker id once, whoever asks again', async () => {
    for (const account of [Account.WORKER, Account.STRANGER]) {
      await assertReverts(chain.ledger(account).registerWorker(worker.register), 'WorkerRegistry: worker already registered');
    }
  });

  it('refuses unknown workers, zero ids, bad types and statuses, and empty details', async () => {
    const raw = chain.contract('WorkerRegistry', Account.WORKER);
    const unknown = `0x${randomId()}`;
    await assertReverts(raw.workerUpdate!(unknown, '{}'), 'WorkerRegistry: unknown worker');
    await assertReverts(raw.workerSetStatus!(unknown, 1), 'WorkerRegistry: unknown worker');
    const fresh = `0x${randomId()}`;
    const org = `0x${ORGANIZATION_ID}`;
    await assertReverts(raw.workerRegister!(`0x${'00'.repeat(32)}`, 1, org, [], '{}'), 'WorkerRegistry: worker id is zero');
    for (const workerType of [0, 4]) {
      await assertReverts(raw.workerRegister!(fresh, workerType, org, [], '{}'), 'WorkerRegistry: worker type must be 1 (TEE), 2 (MPC) or 3 (ZK)');
    }
    await assertReverts(raw.workerRegister!(fresh, 1, `0x${'00'.repeat(32)}`, [], '{}'), 'WorkerRegistry: organization id is zero');
    await assertReverts(raw.workerRegister!(fresh, 1, org, [`0x${'00'.repeat(32)}`], '{}'), 'WorkerRegistry: application type id is zero');
    await assertReverts(raw.workerRegister!(fresh, 1, org, [], ''), 'WorkerRegistry: details are empty');
    await assertReverts(raw.workerUpdate!(`0x${worker.register.workerId}`, ''), 'WorkerRegistry: details are empty');
    for (const status of [0, 5]) {
      await assertReverts(raw.workerSetStatus!(`0x${worker.register.workerId}`, status), 'WorkerRegistry: status must be 1 (active) to 4 (compromised)');
    }
  });

  it('answers undefined for a worker that is not registered', async () => {
    assert.equal(await chain.ledger(Account.STRANGER).retrieveWorker(randomId()), undefined);
  });

  it('refuses, before any transaction, ids that do not fit in bytes32 and details that are not worker details', async () => {
    const ledger = chain.ledger(Account.WORKER);
    const before = await chain.anvil.provider.getTransactionCount(chain.anvil.accounts[Account.WORKER]!.address);
    await assert.rejects(ledger.registerWorker({ ...worker.register, workerId: 'abcd' }), (error: unknown) => {
      assert.ok(error instanceof TcfError);
      assert.equal(error.code, ErrorCode.INVALID_PARAMETER);
      assert.match(error.message, /params\.workerId: must be 32 bytes/);
      return true;
    });
    const broken = { ...worker.details, hashingAlgorithm: undefined } as unknown as TestWorker['details'];
    await assert.rejects(ledger.updateWorker({ workerId: worker.register.workerId, details: broken }), /params\.details\.hashingAlgorithm: is required/);
    assert.equal(await chain.anvil.provider.getTransactionCount(chain.anvil.accounts[Account.WORKER]!.address), before);
  });

  it('looks up workers by type, organization and application type, two per page, in registration order', async () => {
    const organizationId = randomId();
    const special = randomId();
    const plan = [
      { workerType: WorkerType.TEE_SGX, apps: [special] },
      { workerType: WorkerType.MPC, apps: [APPLICATION_TYPE_ID] },
      { workerType: WorkerType.TEE_SGX, apps: [APPLICATION_TYPE_ID, special] },
      { workerType: WorkerType.MPC, apps: [special] },
      { workerType: WorkerType.ZK, apps: [] },
    ];
    const ids: string[] = [];
    for (const { workerType, apps } of plan) {
      const workerId = randomId();
      ids.push(workerId);
      await chain.ledger(Account.WORKER).registerWorker({ ...worker.register, workerId, workerType, organizationId, applicationTypeId: apps });
    }
    const ledger = chain.ledger(Account.STRANGER);

    const pages = async (filter: Parameters<typeof ledger.lookUpWorkers>[0]) => {
      const seen: string[][] = [];
      let page = await ledger.lookUpWorkers(filter);
      const totalCount = page.totalCount;
      seen.push(page.ids);
      while (page.lookupTag !== '') {
        page = await ledger.lookUpWorkers(filter, page.lookupTag);
        assert.equal(page.totalCount, totalCount);
        seen.push(page.ids);
      }
      return { totalCount, pages: seen };
    };

    assert.deepEqual(await pages({ organizationId }), { totalCount: 5, pages: [[ids[0], ids[1]], [ids[2], ids[3]], [ids[4]]] });
    assert.deepEqual(await pages({ organizationId, applicationTypeId: special }), { totalCount: 3, pages: [[ids[0], ids[2]], [ids[3]]] });
    assert.deepEqual(await pages({ organizationId, workerType: WorkerType.MPC }), { totalCount: 2, pages: [[ids[1], ids[3]]] });
    assert.deepEqual(await pages({ organizationId, workerType: WorkerType.TEE_SGX, applicationTypeId: APPLICATION_TYPE_ID }), { totalCount: 1, pages: [[ids[2]]] });
    assert.deepEqual(await pages({ organizationId, applicationTypeId: randomId() }), { totalCount: 0, pages: [[]] });

    // Without an organization the lookup spans every worker registered in this file so far.
    const everyone = await pages({});
    assert.ok(everyone.totalCount >= 7);
    assert.deepEqual(everyone.pages.flat().slice(-5), ids);

    await assert.rejects(ledger.lookUpWorkers({ organizationId }, 'not-a-tag'), /lookUpTag: is not a lookup tag from this ledger/);
  });
});
