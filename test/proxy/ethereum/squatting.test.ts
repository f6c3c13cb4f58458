/**
 * Worker ids are public (Avalon's convention: SHA-256 of the worker's name), so anyone can register a
 * TCS's worker id on chain before its connector does. A requester that names the accounts of the TCSs it
 * uses refuses a worker registered by any other account, however its evidence looks; one that names
 * none is left with evidence alone, as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UntrustedWorkerError } from '../../../src/attestation/index.js';
import { TcfClient } from '../../../src/client/index.js';
import { EthereumRequesterBackend } from '../../../src/proxy/ethereum/index.js';
import { Account, makeWorker, startTestChain, type TestChain } from './fixtures.js';

describe('a worker id registered on chain by someone else', () => {
  let chain: TestChain;
  let workerId: string;
  let squatter: string;
  let operator: string;

  before(async () => {
    chain = await startTestChain();
    squatter = chain.anvil.accounts[Account.STRANGER]!.address.toLowerCase();
    operator = chain.anvil.accounts[Account.WORKER]!.address.toLowerCase();
    // The stranger registers first, with a record as plausible as the real one.
    const squatted = makeWorker();
    workerId = squatted.secrets.workerId;
    await chain.ledger(Account.STRANGER).registerWorker(squatted.register);
  });

  after(async () => {
    await chain?.stop();
  });

  const clientTrusting = (registrants?: string[]) =>
    new TcfClient(new EthereumRequesterBackend(chain.ledger(Account.REQUESTER), chain.deployment, registrants ? { registrants } : {}));

  it('names its registrant', async () => {
    assert.equal(await chain.ledger(Account.REQUESTER).workerRegistrant(workerId), squatter);
    assert.equal(await chain.ledger(Account.REQUESTER).workerRegistrant('ab'.repeat(32)), undefined);
  });

  it('is refused by a requester that trusts only the operator\'s account, with the reason', async () => {
    const client = clientTrusting([operator.toUpperCase().replace('0X', '0x')]);
    await assert.rejects(client.trustedWorker(workerId), (error: unknown) => error instanceof UntrustedWorkerError && error.message.includes(`registered on chain by ${squatter}`));
    const judgement = await client.judgeWorker(await client.getWorker(workerId));
    assert.equal(judgement.trusted, false);
    assert.match(judgement.reasons[0]!, /not by an account this requester trusts/);
  });

  it('is trusted by a requester that names its registrant, or none (evidence alone decides then)', async () => {
    assert.equal((await clientTrusting([squatter]).trustedWorker(workerId)).keys.workerId, workerId);
    assert.equal((await clientTrusting().judgeWorker(await clientTrusting().getWorker(workerId))).trusted, true);
  });
});
