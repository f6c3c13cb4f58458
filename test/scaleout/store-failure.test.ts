/**
 * A store that refuses writes (PostgreSQL raising "No space left on device" from a trigger, the way a
 * full disk surfaces): submissions get a JSON-RPC error, nothing half-accepted is left, the node keeps
 * serving reads, and once the store recovers, work flows again and earlier work is intact.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ErrorCode } from '../../src/protocol/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { startNode, type RunningNode } from '../../src/node/index.js';
import { RpcCallError, TcfClient } from '../../src/client/index.js';
import { PostgresStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/node-process.js';
import { POSTGRES_URL, postgresAvailable, testSchema } from '../helpers/postgres.js';

const availability = await postgresAvailable();

describe('store write failure', { skip: availability.ok ? false : availability.reason }, () => {
  const schema = testSchema('tcf_store_failure');
  const dataDir = tempDir('store-failure');
  let node: RunningNode;
  let client: TcfClient;
  let db: pg.Client;
  let workerId: string;

  before(async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir, store: `${POSTGRES_URL}?schema=${schema}`, listener: { port: 0 }, workers: { processesPerWorker: 1 }, enclave: { rsaBits: 2048 } } });
    node = await startNode(config, createLogger('test', { level: 'silent' }));
    client = new TcfClient(node.url);
    workerId = node.manager!.managedWorkers[0]!.workerId;
    db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
  });

  after(async () => {
    await node.stop();
    await db.end();
    const store = await PostgresStore.open(`${POSTGRES_URL}?schema=${schema}`);
    await store.dropSchema();
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses work while the store cannot write, loses nothing, and recovers', async () => {
    const before = await client.run({ workerId, workload: 'echo-result', inputs: ['before'], responseTimeoutMs: 10_000 });
    await db.query(`CREATE FUNCTION "${schema}".disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`);
    await db.query(`CREATE TRIGGER disk_full BEFORE INSERT ON "${schema}".work_orders FOR EACH ROW EXECUTE FUNCTION "${schema}".disk_full()`);

    const refused = client.submit({ workerId, workload: 'echo-result', inputs: ['during'], responseTimeoutMs: 0 });
    await assert.rejects(refused, (error: unknown) => error instanceof RpcCallError && error.code === ErrorCode.INTERNAL_ERROR && /not accepted/.test(error.message));
    const pending = await db.query(`SELECT count(*)::int AS n FROM "${schema}".work_orders WHERE state IN ('queued', 'processing')`);
    assert.equal(pending.rows[0].n, 0, 'nothing half-accepted');
    assert.equal((await client.lookUpWorkers()).length, 1, 'reads still served');
    const again = await client.rpc.call('WorkOrderGetResult', { workOrderId: before.workOrderId });
    assert.equal(again.workOrderId, before.workOrderId, 'earlier results intact');

    await db.query(`DROP TRIGGER disk_full ON "${schema}".work_orders`);
    const after = await client.run({ workerId, workload: 'echo-result', inputs: ['after'], responseTimeoutMs: 10_000 });
    assert.equal(after.outData[0]!.data.toString(), 'RESULT: after');
  });
});
