/**
 * Scale-out on PostgreSQL: two listeners and two enclave managers, each its own OS process, share one
 * database. Work orders go in through both listeners; one manager is killed with SIGKILL mid-run.
 * The other takes its lapsed claims over, and every work order completes exactly once, receipt included.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { generateSigningKey, textToHex } from '../../src/crypto/index.js';
import { receiptCreateParams, RpcCallError, TcfClient, type Submission } from '../../src/client/index.js';
import { PostgresStore } from '../../src/store/index.js';
import { buildWorkOrder, openWorkOrderResult } from '../../src/workorder/index.js';
import { startNodeProcess, tempDir, type NodeProcess } from '../helpers/node-process.js';
import { POSTGRES_URL, postgresAvailable, testSchema } from '../helpers/postgres.js';

const ORDERS = 300;
const BATCH = 100;
const availability = await postgresAvailable();

async function postBatch(url: string, calls: { method: string; params: unknown }[]): Promise<{ error?: { code: number }; result?: unknown }[]> {
  const body = calls.map((call, index) => ({ jsonrpc: '2.0', id: index + 1, ...call }));
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await response.json()) as { error?: { code: number }; result?: unknown }[];
}

describe('two listeners and two managers on one PostgreSQL', { skip: availability.ok ? false : availability.reason }, () => {
  const schema = testSchema('tcf_multinode');
  const storeUrl = `${POSTGRES_URL}?schema=${schema}`;
  const sharedWorkerData = tempDir('multinode-workers');
  const env = { TCF_ENCLAVE_CLAIM_LEASE_MS: '3000', TCF_ENCLAVE_WORK_ORDER_TIMEOUT_MS: '2000', TCF_LOG_LEVEL: 'warn' };
  const nodes: NodeProcess[] = [];
  let managerA: NodeProcess;
  let listeners: NodeProcess[];

  before(async () => {
    const manager = (id: string) => startNodeProcess({ dataDir: sharedWorkerData, env, args: ['--role', 'manager', '--node-id', id, '--store', storeUrl, '--processes', '1'] });
    const listener = (id: string) => startNodeProcess({ dataDir: tempDir(`multinode-${id}`), env, args: ['--role', 'listener', '--node-id', id, '--store', storeUrl] });
    managerA = await manager('manager-a');
    nodes.push(managerA, await manager('manager-b'));
    listeners = [await listener('listener-1'), await listener('listener-2')];
    nodes.push(...listeners);
  });

  after(async () => {
    for (const node of nodes) await node.stop();
    const store = await PostgresStore.open(storeUrl);
    await store.dropSchema();
    await store.close();
    fs.rmSync(sharedWorkerData, { recursive: true, force: true });
    for (const node of listeners) fs.rmSync(node.dataDir, { recursive: true, force: true });
  });

  it('completes every work order exactly once after one manager is killed with SIGKILL', async (t) => {
    const workerId = managerA.workers[0]!.workerId;
    const clients = listeners.map((node) => new TcfClient(node.url));
    const worker = await clients[0]!.trustedWorker(workerId);
    assert.equal((await clients[1]!.trustedWorker(workerId)).keys.encryptionKeyPem, worker.keys.encryptionKeyPem, 'both managers serve one worker identity');

    const signer = generateSigningKey();
    const submissions: Submission[] = Array.from({ length: ORDERS }, (_, index) => {
      const built = buildWorkOrder({ worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: `order ${index}` }], signer, responseTimeoutMSecs: 0 });
      return { workOrderId: built.params.workOrderId, built, worker };
    });
    const batches = Array.from({ length: ORDERS / BATCH }, (_, batch) => ({ url: listeners[batch % 2]!.url, chunk: submissions.slice(batch * BATCH, (batch + 1) * BATCH) }));
    // All submissions go in at once, then manager A dies while the queue is still long.
    const answers = (await Promise.all(batches.map(({ url, chunk }) => postBatch(url, chunk.map((submission) => ({ method: 'WorkOrderSubmit', params: submission.built.params })))))).flat();
    assert.deepEqual(answers.filter((answer) => answer.error?.code !== 5), [], 'every submission is accepted as pending');
    const db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    // Closed however the test ends: an open connection would keep the test process alive after a failure.
    t.after(() => db.end());
    const claimsOfA = async () =>
      (await db.query(`SELECT count(*)::int AS n FROM "${schema}".work_orders WHERE state = 'processing' AND claimed_by LIKE 'manager-a/%'`)).rows[0].n as number;
    // Kill A while it holds a claim. Its claims last only milliseconds, so A is frozen (SIGSTOP) before the
    // count: a frozen manager can neither finish a claim nor take a new one, and the count cannot go stale
    // between the look and the kill. With none held, A runs on a moment and is looked at again.
    const managerPid = managerA.child.pid!;
    const deadline = Date.now() + 20_000;
    for (;;) {
      process.kill(managerPid, 'SIGSTOP');
      if ((await claimsOfA()) > 0 || Date.now() > deadline) break;
      process.kill(managerPid, 'SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await managerA.kill9();
    // The kill must have left claims behind for the other manager to take over, or the test proves nothing.
    // Counted at once: the receipts below can take longer than the 3 s lease on a slow machine, after which
    // manager B has taken A's claims over and none would be left to count.
    const orphaned = await db.query(`SELECT count(*)::int AS n FROM "${schema}".work_orders WHERE state = 'processing' AND claimed_by LIKE 'manager-a/%'`);
    const unfinished = await db.query(`SELECT count(*)::int AS n FROM "${schema}".work_orders WHERE state IN ('queued', 'processing')`);
    assert.ok(orphaned.rows[0].n > 0, 'manager A held no claim when it was killed');
    assert.ok(unfinished.rows[0].n > 0, 'all work was done before the kill');
    for (const { url, chunk } of batches) {
      const receipts = await postBatch(url, chunk.map((submission) => ({ method: 'WorkOrderReceiptCreate', params: receiptCreateParams(submission, signer) })));
      assert.deepEqual(receipts.filter((answer) => answer.error?.code !== 0), [], 'every receipt is created');
    }

    for (const [index, submission] of submissions.entries()) {
      const client = clients[index % 2]!;
      const opened = await client.waitForResult(submission, { timeoutMs: 60_000 });
      assert.equal(opened.outData[0]!.data.toString(), `RESULT: order ${index}`);
      const update = await client.retrieveReceiptUpdate(submission.workOrderId, 0xffffffff);
      assert.equal(update.updateCount, 1, `work order ${index} has ${update.updateCount} completion updates`);
    }
    const outcomes = await db.query(`SELECT count(*)::int AS n FROM "${schema}".work_orders WHERE state = 'completed'`);
    const retried = await db.query(`SELECT count(*)::int AS n FROM "${schema}".work_orders WHERE attempts > 1`);
    assert.equal(outcomes.rows[0].n, ORDERS);
    assert.ok(retried.rows[0].n >= orphaned.rows[0].n, 'the orphaned work orders were claimed again');
    // Results read through the other listener verify too: one outcome, whichever listener asks.
    const sample = submissions[1]!;
    const again = await clients[0]!.rpc.call('WorkOrderGetResult', { workOrderId: sample.workOrderId });
    assert.equal(openWorkOrderResult(again, sample.built, worker.keys).outData[0]!.data.toString(), 'RESULT: order 1');
  });

  it('kill -9 of a listener in the middle of a batch: each of its work orders is either absent or completed once', async (t) => {
    const workerId = managerA.workers[0]!.workerId;
    const survivor = new TcfClient(listeners[0]!.url);
    const worker = await survivor.trustedWorker(workerId);
    const doomed = listeners[1]!;
    const submissions: Submission[] = Array.from({ length: BATCH }, (_, index) => {
      const built = buildWorkOrder({ worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: `late ${index}` }], responseTimeoutMSecs: 0 });
      return { workOrderId: built.params.workOrderId, built, worker };
    });
    // One call per request, all at once; the listener dies as soon as the first is acknowledged.
    const doomedClient = new TcfClient(doomed.url);
    let firstAccepted: () => void = () => undefined;
    const accepted = new Promise<void>((resolve) => (firstAccepted = resolve));
    const inFlight = submissions.map((submission) =>
      doomedClient.rpc.call('WorkOrderSubmit', submission.built.params).then(
        () => firstAccepted(),
        (error: unknown) => {
          if (error instanceof RpcCallError && error.code === 5) firstAccepted();
        },
      ),
    );
    await accepted;
    await doomed.kill9();
    await Promise.all(inFlight);

    let completed = 0;
    let absent = 0;
    for (const [index, submission] of submissions.entries()) {
      try {
        const opened = await survivor.waitForResult(submission, { timeoutMs: 60_000 });
        assert.equal(opened.outData[0]!.data.toString(), `late ${index}`.replace(/^/, 'RESULT: '));
        completed += 1;
      } catch (error) {
        assert.ok(error instanceof RpcCallError && error.code === 2 && /does not exist/.test(error.message), String(error));
        absent += 1;
      }
    }
    assert.equal(completed + absent, BATCH);
    assert.ok(completed > 0, 'the listener accepted nothing before it died; the test proved nothing');
    const db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    t.after(() => db.end());
    const stuck = await db.query(`SELECT count(*)::int AS n FROM "${schema}".work_orders WHERE state IN ('queued', 'processing')`);
    assert.equal(stuck.rows[0].n, 0, 'nothing accepted was left behind');
    process.stdout.write(`# listener killed mid-batch: ${completed} accepted and completed once, ${absent} never accepted\n`);
  });
});
