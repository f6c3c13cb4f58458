/**
 * "Still pending" (exit code 6) from the real binary. A node started once with its manager registers
 * the worker; the same data dir restarted as a listener only (no manager) accepts work orders that no
 * worker ever takes, so they stay pending for as long as the test needs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNodeProcess, tcf, tempDir, type NodeProcess } from '../helpers/node-process.js';

describe('tcf result and submit while a work order is still pending', () => {
  let listenerOnly: NodeProcess;
  let home: string;
  let env: Record<string, string>;

  before(async () => {
    const dataDir = tempDir('cli-pending');
    const registering = await startNodeProcess({ dataDir, args: ['--processes', '1'] });
    await registering.stop();
    listenerOnly = await startNodeProcess({ dataDir, args: ['--role', 'listener'] });
    home = tempDir('cli-pending-home');
    env = { TCF_URL: listenerOnly.url, TCF_HOME: home };
  });

  after(async () => {
    await listenerOnly.stop();
    fs.rmSync(listenerOnly.dataDir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('result without --wait says pending with exit code 6, and a --wait that times out does too', async () => {
    const submitted = await tcf(['submit', '--workload', 'echo-result', '--in', 'later', '--async', '--json'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { workOrderId, secretsFile } = JSON.parse(submitted.stdout) as { workOrderId: string; secretsFile: string };
    assert.equal(fs.statSync(path.dirname(secretsFile)).mode & 0o777, 0o700);
    assert.equal(fs.statSync(secretsFile).mode & 0o777, 0o600);
    assert.match((JSON.parse(fs.readFileSync(secretsFile, 'utf8')) as { warning: string }).warning, /^SECRET: sessionKey/);

    const human = await tcf(['result', workOrderId], env);
    assert.equal(human.code, 6, human.stderr);
    assert.match(human.stdout, new RegExp(`work order ${workOrderId} is still pending; add --wait`));
    const json = await tcf(['result', workOrderId, '--json'], env);
    assert.equal(json.code, 6);
    assert.deepEqual(JSON.parse(json.stdout), { workOrderId, pending: true });

    const waited = await tcf(['result', workOrderId, '--wait', '--timeout', '800'], env);
    assert.equal(waited.code, 6);
    assert.match(waited.stderr, new RegExp(`no result for work order ${workOrderId} after \\d+ ms`));
  });

  it('a synchronous submit that times out keeps the secrets so tcf result can open it later', async () => {
    const timedOut = await tcf(['submit', '--workload', 'echo-result', '--in', 'slow', '--timeout', '800', '--json'], env);
    assert.equal(timedOut.code, 6);
    const { error } = JSON.parse(timedOut.stdout) as { error: { kind: string; message: string } };
    assert.equal(error.kind, 'ResultTimeoutError');
    const workOrderId = /tcf result ([0-9a-f]{64}) --wait/.exec(error.message)?.[1];
    assert.ok(workOrderId, error.message);
    assert.ok(fs.existsSync(path.join(home, 'orders', `${workOrderId}.json`)));
    assert.equal((await tcf(['result', workOrderId], env)).code, 6);
  });
});
