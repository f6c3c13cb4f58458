/**
 * A worker's status binds: what an operator sets with WorkerSetStatus survives a restart of the node,
 * the manager runs no queued work order of a worker that is not active (a compromised or retired
 * worker's queue fails with a clear error, an off-line worker's queue waits), the listener refuses new
 * work for it, and the SDK and `tcf workers list` refuse to trust it. On LMDB and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { UntrustedWorkerError } from '../../src/attestation/worker-trust.js';
import { RpcCallError, TcfClient, type Submission } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { generateSigningKey, textToHex } from '../../src/crypto/index.js';
import { createLogger } from '../../src/log/index.js';
import { startNode, type RunningNode } from '../../src/node/index.js';
import { ErrorCode, WorkerStatus } from '../../src/protocol/index.js';
import type { WorkOrderState } from '../../src/store/store.js';
import { buildWorkOrder } from '../../src/workorder/index.js';
import { PROJECT_ROOT, tcf, tempDir } from '../helpers/node-process.js';
import { POSTGRES_URL, postgresAvailable, testSchema } from '../helpers/postgres.js';

const OPERATOR_TOKEN = 'operator-token-for-status-tests';
const postgres = await postgresAvailable();

function startStatusNode(dataDir: string, store: string): Promise<RunningNode> {
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      store,
      listener: { port: 0, operatorToken: OPERATOR_TOKEN },
      workers: { processesPerWorker: 1, workloadModules: [path.join(PROJECT_ROOT, 'test/fixtures/gated-workloads.ts')] },
      // One lane: while the gated work order holds it, everything submitted after it stays queued.
      enclave: { rsaBits: 2048, lanesPerProcess: 1 },
    },
  });
  return startNode(config, createLogger('test', { level: 'silent' }));
}

async function operatorCall(url: string, method: string, params: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_TOKEN}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return ((await response.json()) as { error?: unknown }).error;
}

async function setStatus(url: string, workerId: string, status: number): Promise<void> {
  assert.deepEqual(await operatorCall(url, 'WorkerSetStatus', { workerId, status }), { code: 0, message: 'Worker status updated successfully' });
}

async function waitForState(node: RunningNode, workOrderId: string, state: WorkOrderState): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await node.store.getWorkOrder(workOrderId))?.state !== state) {
    assert.ok(Date.now() < deadline, `work order ${workOrderId} never reached ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const kind of ['lmdb', 'postgres'] as const) {
  const skip = kind === 'postgres' && !postgres.ok ? postgres.reason : false;
  describe(`worker status binds (${kind})`, { skip }, () => {
    const signer = generateSigningKey();
    const schemas: string[] = [];
    const dirs: string[] = [];
    let node: RunningNode | undefined;

    /** A data directory and store that survive the node, so it can be started again on them. */
    function freshPlace(): { dataDir: string; store: string } {
      const dataDir = tempDir('worker-status');
      dirs.push(dataDir);
      if (kind === 'lmdb') return { dataDir, store: '' };
      const schema = testSchema('tcf_worker_status');
      schemas.push(schema);
      return { dataDir, store: `${POSTGRES_URL}?schema=${schema}` };
    }

    /** Starts the node, holds its only lane with a gated work order, and queues `count` more behind it. */
    async function holdAndQueue(place: { dataDir: string; store: string }, count: number) {
      node = await startStatusNode(place.dataDir, place.store);
      const client = new TcfClient(node.url);
      const workerId = node.manager!.managedWorkers[0]!.workerId;
      const trusted = await client.trustedWorker(workerId);
      const gate = path.join(place.dataDir, 'gate');
      const held = await client.submit({ workerId, workload: 'test-gate', inputs: [gate], signer, responseTimeoutMs: 0 });
      await waitForState(node, held.workOrderId, 'processing');
      const queued: Submission[] = [];
      for (let index = 0; index < count; index += 1) queued.push(await client.submit({ workerId, workload: 'echo-result', inputs: [`queued ${index}`], signer, responseTimeoutMs: 0 }));
      for (const submission of queued) assert.equal((await node.store.getWorkOrder(submission.workOrderId))?.state, 'queued');
      return { client, workerId, trusted, held, queued, openGate: () => fs.writeFileSync(gate, '') };
    }

    after(async () => {
      await node?.stop();
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
      if (schemas.length === 0) return;
      const db = new pg.Client({ connectionString: POSTGRES_URL });
      await db.connect();
      for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.end();
    });

    it('COMPROMISED: the queue fails with a clear error, new work is refused, the status survives a restart, SDK and CLI refuse the worker', async () => {
      const place = freshPlace();
      const { client, workerId, trusted, held, queued, openGate } = await holdAndQueue(place, 4);
      await setStatus(node!.url, workerId, WorkerStatus.COMPROMISED);
      openGate();

      // The work order already in the worker's hands when the status changed ends as it would have.
      assert.equal((await client.waitForResult(held, { timeoutMs: 30_000 })).outData[0]!.data.toString(), path.join(place.dataDir, 'gate'));
      for (const submission of queued) {
        await assert.rejects(client.waitForResult(submission, { timeoutMs: 30_000 }), (error: unknown) => {
          assert.ok(error instanceof RpcCallError, String(error));
          assert.equal(error.code, ErrorCode.INVALID_PARAMETER);
          assert.match(error.message, /worker [0-9a-f]{64} is COMPROMISED, not active; this work order was not run/);
          return true;
        });
        const order = await node!.store.getWorkOrder(submission.workOrderId);
        assert.equal(order?.state, 'failed');
        assert.equal(order.completionUpdate, undefined, 'the compromised worker signed nothing for it');
      }

      const refused = buildWorkOrder({ worker: trusted.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'after' }], signer, responseTimeoutMSecs: 0 });
      await assert.rejects(client.rpc.call('WorkOrderSubmit', refused.params), (error: unknown) => {
        assert.ok(error instanceof RpcCallError, String(error));
        assert.equal(error.code, ErrorCode.INVALID_PARAMETER);
        assert.match(error.message, /is not active/);
        return true;
      });
      assert.equal(await node!.store.getWorkOrder(refused.params.workOrderId), undefined);
      await assert.rejects(client.trustedWorker(workerId), (error: unknown) => error instanceof UntrustedWorkerError && /worker status is COMPROMISED, not active/.test(error.message));

      await node!.stop();
      node = await startStatusNode(place.dataDir, place.store);
      const restarted = new TcfClient(node.url);
      assert.equal((await restarted.getWorker(workerId)).status, WorkerStatus.COMPROMISED, 'the restart kept the status');
      await assert.rejects(restarted.trustedWorker(workerId), UntrustedWorkerError);
      // Registering it again replaces its details, not its status: only WorkerSetStatus changes that.
      const { status: _status, ...registration } = await restarted.getWorker(workerId);
      assert.deepEqual(await operatorCall(node.url, 'WorkerRegister', registration), { code: 0, message: 'Worker registered successfully' });
      assert.equal((await restarted.getWorker(workerId)).status, WorkerStatus.COMPROMISED, 'WorkerRegister kept the status');

      const home = tempDir('worker-status-home');
      dirs.push(home);
      const listed = await tcf(['workers', 'list', '--json'], { TCF_URL: node.url, TCF_HOME: home });
      assert.equal(listed.code, 0, listed.stderr);
      const rows = JSON.parse(listed.stdout) as { workerId: string; status: number; trusted: boolean; reason: string }[];
      assert.deepEqual(
        rows.map((row) => [row.workerId, row.status, row.trusted, row.reason]),
        [[workerId, WorkerStatus.COMPROMISED, false, 'worker status is COMPROMISED, not active']],
      );
      const human = await tcf(['workers', 'show', workerId], { TCF_URL: node.url, TCF_HOME: home });
      assert.match(human.stdout, /NOT trusted under the development policy: worker status is COMPROMISED, not active/);
      await node.stop();
      node = undefined;
    });

    it('OFF_LINE: the queue waits, across a restart too, and runs once the worker is ACTIVE again', async () => {
      const place = freshPlace();
      const { client, workerId, held, queued, openGate } = await holdAndQueue(place, 2);
      await setStatus(node!.url, workerId, WorkerStatus.OFF_LINE);
      openGate();
      await client.waitForResult(held, { timeoutMs: 30_000 });
      // Longer than the manager's idle poll: its lane has looked at the queue again and left it alone.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      for (const submission of queued) assert.equal((await node!.store.getWorkOrder(submission.workOrderId))?.state, 'queued');
      await assert.rejects(client.trustedWorker(workerId), (error: unknown) => error instanceof UntrustedWorkerError && /worker status is OFF_LINE, not active/.test(error.message));

      await node!.stop();
      node = await startStatusNode(place.dataDir, place.store);
      assert.equal((await new TcfClient(node.url).getWorker(workerId)).status, WorkerStatus.OFF_LINE, 'the restart kept the status');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      for (const submission of queued) assert.equal((await node.store.getWorkOrder(submission.workOrderId))?.state, 'queued');

      await setStatus(node.url, workerId, WorkerStatus.ACTIVE);
      const again = new TcfClient(node.url);
      for (const [index, submission] of queued.entries()) {
        assert.equal((await again.waitForResult(submission, { timeoutMs: 30_000 })).outData[0]!.data.toString(), `RESULT: queued ${index}`);
      }
      await again.trustedWorker(workerId);
      await node.stop();
      node = undefined;
    });
  });
}
