/**
 * A node on PostgreSQL whose database connections are killed under load (pg_terminate_backend of every
 * backend it holds, pooled and LISTEN alike, several times): the process keeps serving, a call whose
 * connection died fails with -32603 and nothing else, and every work order it acknowledged still ends
 * with exactly one outcome and one worker receipt update. And a store whose LISTEN connection was
 * down while work was submitted and finished raises those events once it listens again.
 *
 * Restarts of PostgreSQL are added when TCF_TEST_POSTGRES_RESTART names a shell command that restarts
 * the server at TCF_TEST_POSTGRES_URL (for instance `pg_ctlcluster --skip-systemctl-redirect 15 main
 * restart`). They are off by default: whoever else shares that server would lose their connections too.
 */
import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { generateSigningKey, textToHex } from '../../src/crypto/index.js';
import { receiptCreateParams, TcfClient, type Submission } from '../../src/client/index.js';
import { createLogger } from '../../src/log/index.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { PostgresStore, type StoreEvent } from '../../src/store/index.js';
import { buildWorkOrder } from '../../src/workorder/index.js';
import { startNodeProcess, tempDir, type NodeProcess } from '../helpers/node-process.js';
import { POSTGRES_URL, postgresAvailable, testSchema } from '../helpers/postgres.js';
import { id, newWorkOrder, workerRecord } from '../store/conformance.js';

const availability = await postgresAvailable();
const CALLERS = 6;
const TERMINATIONS = 5;
const RESTART_COMMAND = process.env.TCF_TEST_POSTGRES_RESTART;
const RESTARTS = RESTART_COMMAND ? 3 : 0;

/** One connection per statement, so a restart of the server between two of them costs nothing here. */
async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

type Answer = { result?: unknown; error?: { code: number; message: string } };

class CallTally {
  readonly failuresByCode = new Map<number, number>();
  transportErrors = 0;
  calls = 0;

  async call(url: string, method: string, params: unknown): Promise<Answer | undefined> {
    this.calls += 1;
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: this.calls, method, params }) });
      return (await response.json()) as Answer;
    } catch {
      this.transportErrors += 1;
      return undefined;
    }
  }

  /** Codes 0 (a generic success) and 5 (pending) are answers, not failures. */
  failed(answer: Answer | undefined): boolean {
    const code = answer?.error?.code;
    if (answer === undefined || code === undefined || code === 0 || code === ErrorCode.PENDING) return answer === undefined;
    this.failuresByCode.set(code, (this.failuresByCode.get(code) ?? 0) + 1);
    return true;
  }
}

describe('PostgreSQL connections lost under load', { skip: availability.ok ? false : availability.reason }, () => {
  const schema = testSchema('tcf_pg_loss');
  const storeUrl = `${POSTGRES_URL}?schema=${schema}`;
  const dataDir = tempDir('pg-loss');
  let node: NodeProcess;

  before(async () => {
    node = await startNodeProcess({
      dataDir,
      env: { TCF_ENCLAVE_CLAIM_LEASE_MS: '3000', TCF_ENCLAVE_WORK_ORDER_TIMEOUT_MS: '2000', TCF_LOG_LEVEL: 'warn' },
      args: ['--store', storeUrl, '--processes', '1'],
    });
  });

  after(async () => {
    await node.stop();
    const store = await PostgresStore.open(storeUrl);
    await store.dropSchema();
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps serving, fails only the calls in flight with -32603, and loses or repeats no acknowledged work order', async (t) => {
    const workerId = node.workers[0]!.workerId;
    const client = new TcfClient(node.url);
    const worker = await client.trustedWorker(workerId);
    const signer = generateSigningKey();
    const tally = new CallTally();
    const acknowledged: Submission[] = [];
    const receiptsToRetry: Submission[] = [];
    const alive = () => node.child.exitCode === null && node.child.signalCode === null;
    let loading = true;

    const caller = async (callerIndex: number) => {
      for (let index = 0; loading && alive(); index += 1) {
        const built = buildWorkOrder({ worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: `caller ${callerIndex} order ${index}` }], signer, responseTimeoutMSecs: 0 });
        const submission: Submission = { workOrderId: built.params.workOrderId, built, worker };
        const submitted = await tally.call(node.url, 'WorkOrderSubmit', built.params);
        if (tally.failed(submitted)) continue;
        acknowledged.push(submission);
        if (tally.failed(await tally.call(node.url, 'WorkOrderReceiptCreate', receiptCreateParams(submission, signer)))) receiptsToRetry.push(submission);
        tally.failed(await tally.call(node.url, 'WorkOrderGetResult', { workOrderId: submission.workOrderId }));
      }
    };
    const callers = Array.from({ length: CALLERS }, (_, index) => caller(index));

    // The node's own connections are told apart from everyone else's by their application_name.
    const terminated: number[] = [];
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (let round = 0; round < TERMINATIONS && alive(); round += 1) {
      const [killed] = await sql<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name IN ($1, $2)`,
        [`tcf:${schema}`, `tcf-events:${schema}`],
      );
      terminated.push(killed!.n);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    for (let round = 0; round < RESTARTS && alive(); round += 1) {
      await promisify(exec)(RESTART_COMMAND!, { timeout: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    loading = false;
    await Promise.all(callers);

    const crashes = alive() ? 0 : 1;
    let completedOnce = 0;
    let lost = 0;
    let duplicated = 0;
    if (crashes === 0) {
      const health = await fetch(`${node.url}/health`);
      assert.equal(health.status, 200, 'the node answers /health after its connections were killed');
      for (const submission of receiptsToRetry) {
        const again = await tally.call(node.url, 'WorkOrderReceiptCreate', receiptCreateParams(submission, signer));
        // A receipt whose commit won the race with the termination is there already.
        assert.ok(again?.error?.code === 0 || /already has a receipt/.test(again?.error?.message ?? ''), JSON.stringify(again));
      }
      for (const submission of acknowledged) {
        try {
          const opened = await client.waitForResult(submission, { timeoutMs: 30_000 });
          assert.match(opened.outData[0]!.data.toString(), /^RESULT: caller \d+ order \d+$/);
        } catch (error) {
          t.diagnostic(`work order ${submission.workOrderId} lost: ${String(error)}`);
          lost += 1;
          continue;
        }
        const update = await client.retrieveReceiptUpdate(submission.workOrderId, 0xffffffff);
        if (update.updateCount === 1) completedOnce += 1;
        else duplicated += 1;
      }
    }
    const logs = node.logs();
    t.diagnostic(`backends terminated per round: ${terminated.join(', ')}; PostgreSQL restarts: ${RESTARTS}`);
    t.diagnostic(`calls ${tally.calls}, failed by code ${JSON.stringify(Object.fromEntries(tally.failuresByCode))}, transport errors ${tally.transportErrors}`);
    t.diagnostic(`acknowledged ${acknowledged.length}, completed once ${completedOnce}, lost ${lost}, duplicated ${duplicated}, crashes ${crashes}`);
    t.diagnostic(`node log: ${(logs.match(/WARN/g) ?? []).length} WARN, ${(logs.match(/ERROR/g) ?? []).length} ERROR lines`);

    assert.equal(crashes, 0, `the node process died:\n${logs.slice(-3_000)}`);
    assert.equal(terminated.length, TERMINATIONS);
    assert.ok(terminated.every((count) => count > 0), 'every round terminated some of the node\'s backends');
    assert.equal(tally.transportErrors, 0, 'no call lost its HTTP connection to the listener');
    assert.deepEqual([...tally.failuresByCode.keys()].filter((code) => code !== ErrorCode.INTERNAL_ERROR), [], 'calls failed only with -32603');
    assert.ok(acknowledged.length > 0, 'nothing was acknowledged; the test proved nothing');
    assert.equal(lost, 0);
    assert.equal(duplicated, 0);
    assert.equal(completedOnce, acknowledged.length);
    assert.doesNotMatch(logs, /Unhandled|handler failed/, 'no unhandled error and no stack per call in the log');
  });
});

describe('a LISTEN connection lost while work is submitted and finished', { skip: availability.ok ? false : availability.reason }, () => {
  it('raises the missed events once it listens again', async (t) => {
    const schema = testSchema('tcf_pg_catch_up');
    const store = await PostgresStore.open(`${POSTGRES_URL}?schema=${schema}`, { log: createLogger('test', { level: 'silent' }) });
    const db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    t.after(async () => {
      await db.end();
      await store.dropSchema();
      await store.close();
    });
    const events: StoreEvent[] = [];
    store.subscribe((event) => events.push(event));
    const workerId = id(1);
    await store.putWorker(workerRecord(1));
    const eventsConnection = `tcf-events:${schema}`;

    // The writes must fall between the loss and the new LISTEN session, or a notification could reach
    // them the ordinary way; a round where the session came back first is tried again.
    let finishedId = '';
    let queuedId = '';
    for (let round = 0; ; round += 1) {
      assert.ok(round < 5, 'the LISTEN connection always came back before the writes; the test proved nothing');
      const killed = await db.query('SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [eventsConnection]);
      assert.equal(killed.rows[0].n, 1);
      const finishing = newWorkOrder(2 * round, workerId);
      const queued = newWorkOrder(2 * round + 1, workerId);
      assert.equal(await store.submitWorkOrder(finishing, { maxPending: 100 }), 'accepted');
      const claimed = await store.claimWorkOrder('owner', 60_000, [workerId]);
      assert.equal(claimed?.workOrderId, finishing.workOrderId);
      assert.equal(await store.finishWorkOrder(finishing.workOrderId, 'owner', { error: { code: ErrorCode.UNKNOWN_ERROR, message: 'failed on purpose' } }), true);
      assert.equal(await store.submitWorkOrder(queued, { maxPending: 100 }), 'accepted');
      const written = (await db.query('SELECT clock_timestamp() AS at')).rows[0].at as Date;
      let listening: Date | undefined;
      while (!listening) {
        const session = await db.query('SELECT backend_start FROM pg_stat_activity WHERE application_name = $1', [eventsConnection]);
        listening = session.rows[0]?.backend_start as Date | undefined;
        if (!listening) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (listening > written) {
        finishedId = finishing.workOrderId;
        queuedId = queued.workOrderId;
        break;
      }
      // Drain what this round's orders left in the queue so the next round's claim finds its own.
      await store.claimWorkOrder('drain', 60_000, [workerId]);
    }
    const heard = () =>
      events.some((event) => event.type === 'finished' && event.workOrderId === finishedId) &&
      events.some((event) => event.type === 'submitted' && event.workOrderId === queuedId && event.workerId === workerId);
    for (let waited = 0; !heard() && waited < 15_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(heard(), `missed events were not raised; heard ${JSON.stringify(events)}`);
  });
});
