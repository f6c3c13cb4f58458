/**
 * PostgresStore: the conformance suite on a fresh schema per test (dropped afterwards), plus what only
 * a shared store must show: migrations that tolerate racing opens, events and claims across separate
 * store instances (separate sessions, as separate processes would have), schema isolation, and a
 * LISTEN connection that comes back after the server drops it. Skipped with a note when PostgreSQL is
 * not reachable, except in CI, where that fails (test/helpers/postgres.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openStore, PostgresStore, type StoreEvent } from '../../src/store/index.js';
import { POSTGRES_URL, postgresAvailable, testSchema } from '../helpers/postgres.js';
import { id, newWorkOrder, storeConformance, workerRecord } from './conformance.js';

const availability = await postgresAvailable();

let schemas = 0;
function freshSchema(): string {
  schemas += 1;
  return `${testSchema('tcf_store')}_${schemas}`;
}

async function admin<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

if (!availability.ok) {
  describe('PostgresStore', () => {
    it('needs a reachable PostgreSQL server', { skip: availability.reason }, () => undefined);
  });
} else {
  storeConformance('PostgreSQL', async () => {
    const store = await PostgresStore.open(POSTGRES_URL, { schema: freshSchema() });
    return {
      store,
      async cleanup() {
        await store.dropSchema();
        await store.close();
      },
    };
  });

  describe('PostgresStore shared by several instances', () => {
    const opened: PostgresStore[] = [];
    async function open(schema: string): Promise<PostgresStore> {
      const store = await PostgresStore.open(POSTGRES_URL, { schema });
      opened.push(store);
      return store;
    }
    after(async () => {
      for (const store of opened) {
        await store.dropSchema();
        await store.close();
      }
    });

    it('runs each migration once when many instances open a new schema at the same moment', async () => {
      const schema = freshSchema();
      await Promise.all(Array.from({ length: 6 }, () => open(schema)));
      const versions = (await admin<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)).map((row) => row.version);
      assert.ok(versions.length >= 2);
      assert.deepEqual(versions, versions.map((_, index) => index + 1));
      await open(schema);
      const again = (await admin<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)).map((row) => row.version);
      assert.deepEqual(again, versions, 'reopening applies nothing twice');
      const tables = (await admin<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema])).map((row) => row.table_name);
      for (const table of ['receipt_updates', 'receipts', 'schema_migrations', 'work_orders', 'worker_application_types', 'workers']) assert.ok(tables.includes(table), table);
    });

    it('delivers events between instances and never lets two instances claim one work order', async () => {
      const schema = freshSchema();
      const [listener, submitter] = await Promise.all([open(schema), open(schema)]);
      const heard: StoreEvent[] = [];
      const unsubscribe = listener.subscribe((event) => heard.push(event));
      const orders = Array.from({ length: 10 }, (_, n) => newWorkOrder(n, id(1)));
      for (const order of orders) assert.equal(await submitter.submitWorkOrder(order, { maxPending: 100 }), 'accepted');
      await waitFor(() => heard.length === 10, 'ten submitted events from the other instance');
      assert.deepEqual(heard, orders.map((order): StoreEvent => ({ type: 'submitted', workOrderId: order.workOrderId, workerId: id(1) })));

      const claims = await Promise.all(Array.from({ length: 20 }, (_, n) => (n % 2 === 0 ? listener : submitter).claimWorkOrder(`racer-${n}`, 60_000)));
      const won = claims.flatMap((claim) => (claim ? [claim.workOrderId] : []));
      assert.deepEqual([...won].sort(), orders.map((order) => order.workOrderId).sort());

      const first = claims.find((claim) => claim !== undefined);
      assert.ok(first?.claimedBy);
      assert.equal(await submitter.finishWorkOrder(first.workOrderId, first.claimedBy, { error: { code: 5, message: 'done' } }), true);
      await waitFor(() => heard.some((event) => event.type === 'finished'), 'the finished event');
      assert.deepEqual(heard.at(-1), { type: 'finished', workOrderId: first.workOrderId });
      unsubscribe();
    });

    it('keeps schemas apart: records, queues and events', async () => {
      const [left, right] = await Promise.all([open(freshSchema()), open(freshSchema())]);
      const heardRight: StoreEvent[] = [];
      const unsubscribe = right.subscribe((event) => heardRight.push(event));
      await left.putWorker(workerRecord(1));
      await left.submitWorkOrder(newWorkOrder(1, id(1)), { maxPending: 10 });
      const marker = newWorkOrder(2, id(2));
      await right.submitWorkOrder(marker, { maxPending: 10 });
      await waitFor(() => heardRight.length > 0, 'the marker event');
      unsubscribe();
      assert.deepEqual(heardRight, [{ type: 'submitted', workOrderId: marker.workOrderId, workerId: id(2) }]);
      assert.equal(await right.getWorker(id(1)), undefined);
      assert.equal(await right.pendingCount(), 1);
      assert.equal((await right.claimWorkOrder('m', 60_000))?.workOrderId, marker.workOrderId);
      assert.equal(await right.claimWorkOrder('m', 60_000), undefined);
    });

    it('listens again after the server drops the LISTEN connection', async () => {
      const schema = freshSchema();
      const [listener, submitter] = await Promise.all([open(schema), open(schema)]);
      const heard: StoreEvent[] = [];
      const unsubscribe = listener.subscribe((event) => heard.push(event));
      // Both instances LISTEN under the same name; drop them all, then wait until both are back.
      const listeners = () => admin<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [`tcf-events:${schema}`]);
      const before = (await listeners()).map((row) => row.pid);
      assert.equal(before.length, 2);
      await admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`tcf-events:${schema}`]);
      await waitFor(async () => {
        const now = (await listeners()).map((row) => row.pid);
        return now.length === 2 && now.every((pid) => !before.includes(pid));
      }, 'both LISTEN connections to come back');
      const order = newWorkOrder(1, id(1));
      await submitter.submitWorkOrder(order, { maxPending: 10 });
      await waitFor(() => heard.length > 0, 'an event after the reconnection');
      unsubscribe();
      assert.deepEqual(heard, [{ type: 'submitted', workOrderId: order.workOrderId, workerId: id(1) }]);
    });

    it('is what openStore opens for postgres:// and postgresql:// locations, with ?schema= picking the schema', async () => {
      const schema = freshSchema();
      const address = `${POSTGRES_URL.replace(/^postgres(ql)?:\/\//, '')}${POSTGRES_URL.includes('?') ? '&' : '?'}schema=${schema}`;
      const viaPostgres = await openStore(`postgres://${address}`);
      assert.ok(viaPostgres instanceof PostgresStore);
      opened.push(viaPostgres);
      await viaPostgres.putWorker(workerRecord(7));
      const viaPostgresql = await openStore(`postgresql://${address}`);
      assert.ok(viaPostgresql instanceof PostgresStore);
      opened.push(viaPostgresql);
      assert.deepEqual(await viaPostgresql.getWorker(id(7)), workerRecord(7));
      const rows = await admin<{ count: string }>(`SELECT count(*) FROM ${schema}.workers`);
      assert.equal(rows[0]?.count, '1');
    });
  });
}
