/**
 * WorkerRegistryList on a real EVM (anvil), through its ABI: the owner adds, updates and sets the
 * status of organizations' registries, with events; lookups by application type page by page; every
 * other account is refused with the contract's reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Contract } from 'ethers';
import { Account, APPLICATION_TYPE_ID, assertReverts, eventsOf, randomId, startTestChain, type TestChain } from './fixtures.js';

const ZERO_ID = `0x${'00'.repeat(32)}`;
const ZERO_ADDRESS = `0x${'00'.repeat(20)}`;
const hex = (id: string) => `0x${id}`;

describe('WorkerRegistryList', () => {
  let chain: TestChain;
  let owned: Contract;
  let stranger: Contract;
  let added = 0;

  before(async () => {
    chain = await startTestChain({ lookUpPageSize: 2 });
    owned = chain.contract('WorkerRegistryList', Account.OWNER);
    stranger = chain.contract('WorkerRegistryList', Account.STRANGER);
  });

  after(async () => {
    await chain?.stop();
  });

  async function add(organizationId: string, applicationTypeIds: string[], uri = 'http://registry.example:1947'): Promise<string> {
    const sent = await owned.registryAdd!(hex(organizationId), uri, chain.deployment.addresses.workerRegistry, applicationTypeIds.map(hex));
    const mined = await sent.wait();
    added += 1;
    return mined.hash as string;
  }

  it('is owned by the deploying account', async () => {
    assert.equal(await stranger.owner!(), chain.anvil.accounts[Account.OWNER]!.address);
    assert.equal(await stranger.lookUpPageSize!(), 2n);
  });

  it('adds an active registry, retrievable by anyone, announced by registryAdded', async () => {
    const organizationId = randomId();
    const hash = await add(organizationId, [APPLICATION_TYPE_ID]);
    const [uri, registryContract, applicationTypeIds, status] = await stranger.registryRetrieve!(hex(organizationId));
    assert.equal(uri, 'http://registry.example:1947');
    assert.equal(registryContract, chain.deployment.addresses.workerRegistry);
    assert.deepEqual(applicationTypeIds.toArray(), [hex(APPLICATION_TYPE_ID)]);
    assert.equal(status, 1n);

    const [event] = await eventsOf(stranger, hash);
    assert.equal(event!.name, 'registryAdded');
    assert.equal(event!.args.getValue('organizationId'), hex(organizationId));
    assert.equal(event!.args.getValue('uri'), 'http://registry.example:1947');
    assert.equal(event!.args.getValue('registryContract'), chain.deployment.addresses.workerRegistry);
  });

  it('replaces a registry and sets its status, with registryUpdated and registryStatusChanged', async () => {
    const organizationId = randomId();
    await add(organizationId, [APPLICATION_TYPE_ID]);
    const otherApp = randomId();
    const updated = await (await owned.registryUpdate!(hex(organizationId), 'http://moved.example', chain.deployment.addresses.workOrderRegistry, [hex(otherApp)])).wait();
    const [uri, registryContract, applicationTypeIds, status] = await stranger.registryRetrieve!(hex(organizationId));
    assert.deepEqual([uri, registryContract, applicationTypeIds.toArray(), status], ['http://moved.example', chain.deployment.addresses.workOrderRegistry, [hex(otherApp)], 1n]);
    const [updateEvent] = await eventsOf(stranger, updated.hash);
    assert.equal(updateEvent!.name, 'registryUpdated');
    assert.equal(updateEvent!.args.getValue('uri'), 'http://moved.example');

    const offLine = await (await owned.registrySetStatus!(hex(organizationId), 2)).wait();
    assert.equal((await stranger.registryRetrieve!(hex(organizationId)))[3], 2n);
    const [statusEvent] = await eventsOf(stranger, offLine.hash);
    assert.equal(statusEvent!.name, 'registryStatusChanged');
    assert.equal(statusEvent!.args.getValue('status'), 2n);
  });

  it('lets only the owner add, update or set the status of a registry', async () => {
    const reason = 'WorkerRegistryList: only the owner may change the registry list';
    const organizationId = randomId();
    await add(organizationId, []);
    for (const account of [Account.STRANGER, Account.WORKER, Account.REQUESTER]) {
      const other = chain.contract('WorkerRegistryList', account);
      await assertReverts(other.registryAdd!(hex(randomId()), 'http://x', chain.deployment.addresses.workerRegistry, []), reason);
      await assertReverts(other.registryUpdate!(hex(organizationId), 'http://x', chain.deployment.addresses.workerRegistry, []), reason);
      await assertReverts(other.registrySetStatus!(hex(organizationId), 3), reason);
    }
    assert.equal((await stranger.registryRetrieve!(hex(organizationId)))[0], 'http://registry.example:1947');
  });

  it('refuses duplicates, unknown organizations, zero ids and addresses, empty URIs and unknown statuses', async () => {
    const organizationId = randomId();
    await add(organizationId, []);
    const registry = chain.deployment.addresses.workerRegistry;
    await assertReverts(owned.registryAdd!(hex(organizationId), 'http://x', registry, []), 'WorkerRegistryList: organization already listed');
    await assertReverts(owned.registryAdd!(ZERO_ID, 'http://x', registry, []), 'WorkerRegistryList: organization id is zero');
    await assertReverts(owned.registryAdd!(hex(randomId()), '', registry, []), 'WorkerRegistryList: uri is empty');
    await assertReverts(owned.registryAdd!(hex(randomId()), 'http://x', ZERO_ADDRESS, []), 'WorkerRegistryList: registry contract address is zero');
    const unknown = hex(randomId());
    await assertReverts(owned.registryUpdate!(unknown, 'http://x', registry, []), 'WorkerRegistryList: unknown organization');
    await assertReverts(owned.registrySetStatus!(unknown, 1), 'WorkerRegistryList: unknown organization');
    for (const status of [0, 4]) {
      await assertReverts(owned.registrySetStatus!(hex(organizationId), status), 'WorkerRegistryList: status must be 1 (active) to 3 (decommissioned)');
    }
    const [uri, registryContract, applicationTypeIds, status] = await stranger.registryRetrieve!(unknown);
    assert.deepEqual([uri, registryContract, applicationTypeIds.toArray(), status], ['', ZERO_ADDRESS, [], 0n]);
  });

  it('looks up organizations by application type, two per page, in the order they were added', async () => {
    const app = randomId();
    const serving = [randomId(), randomId(), randomId()];
    await add(serving[0]!, [app]);
    await add(randomId(), [randomId()]);
    await add(serving[1]!, [APPLICATION_TYPE_ID, app]);
    await add(serving[2]!, [app]);

    const [total, tag, firstPage] = await stranger.registryLookUp!(hex(app));
    assert.equal(total, 3n);
    assert.notEqual(tag, 0n);
    assert.deepEqual(firstPage.toArray(), serving.slice(0, 2).map(hex));
    const [totalAgain, lastTag, secondPage] = await stranger.registryLookUpNext!(hex(app), tag);
    assert.equal(totalAgain, 3n);
    assert.equal(lastTag, 0n);
    assert.deepEqual(secondPage.toArray(), [hex(serving[2]!)]);

    const [none, noTag, empty] = await stranger.registryLookUp!(hex(randomId()));
    assert.deepEqual([none, noTag, empty.toArray()], [0n, 0n, []]);

    // Application type zero matches every registry listed so far in this file.
    const [all] = await stranger.registryLookUp!(ZERO_ID);
    assert.equal(all, BigInt(added));
  });
});
