/**
 * Completion notices go only where the operator allowed (listener.notifyUriPrefixes, matched at a
 * boundary, not as a plain text prefix) and only where the requester that created the work order asked:
 * a resubmission of a pending workOrderId, refused as a duplicate, used to replace the stored notifyUri
 * and so take the first requester's notice for itself.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NotifyListener, RpcCallError } from '../../src/client/index.ts';
import { notifyUriAllowed } from '../../src/service/service.ts';
import { startTestNode, type TestNode } from '../helpers/in-process-node.ts';
import { PROJECT_ROOT, tempDir } from '../helpers/node-process.ts';

describe('notifyUriAllowed', () => {
  it('matches an operator prefix only at a boundary', () => {
    const prefixes = ['http://127.0.0.1:4455', 'https://hooks.example/tcf/'];
    for (const allowed of ['http://127.0.0.1:4455', 'http://127.0.0.1:4455/done', 'http://127.0.0.1:4455?x=1', 'https://hooks.example/tcf/a/b']) {
      assert.equal(notifyUriAllowed(allowed, prefixes), true, allowed);
    }
    for (const refused of [
      'http://127.0.0.1:44556/done',
      'http://127.0.0.1:4455.evil.example/',
      'http://127.0.0.1:4455@evil.example/',
      'https://hooks.example/tcfx',
      'https://hooks.example/tc',
      'ftp://127.0.0.1:4455/',
      'not a uri',
    ]) {
      assert.equal(notifyUriAllowed(refused, prefixes), false, refused);
    }
  });

  it('reads a prefix ending in ":" as any port of that host, and nothing else', () => {
    const prefixes = ['http://127.0.0.1:'];
    assert.equal(notifyUriAllowed('http://127.0.0.1:8080/hook', prefixes), true);
    assert.equal(notifyUriAllowed('http://127.0.0.1:8080', prefixes), true);
    assert.equal(notifyUriAllowed('http://127.0.0.1:@evil.example/', prefixes), false);
    assert.equal(notifyUriAllowed('http://127.0.0.1:80.evil.example/', prefixes), false);
  });

  it('allows nothing without prefixes, and never a URI carrying credentials', () => {
    assert.equal(notifyUriAllowed('http://127.0.0.1:4455/', []), false);
    assert.equal(notifyUriAllowed('http://user:pw@127.0.0.1:4455/', ['http://']), false);
  });
});

describe('a resubmitted workOrderId cannot take the notice', () => {
  let test: TestNode;
  const gates = tempDir('notify-gates');

  before(async () => {
    test = await startTestNode('notify-hijack', {
      listener: { notifyUriPrefixes: ['http://127.0.0.1:'] },
      workers: { workloadModules: [path.join(PROJECT_ROOT, 'test/fixtures/gated-workloads.ts')] },
    });
  });

  after(async () => {
    await test.stop();
    fs.rmSync(gates, { recursive: true, force: true });
  });

  it('notifies the first requester only', async () => {
    const first = await NotifyListener.start();
    const intruder = await NotifyListener.start();
    try {
      const gate = path.join(gates, 'open');
      const submission = await test.client.submit({ workerId: test.workerId, workload: 'test-gate', inputs: [gate], responseTimeoutMs: 0, notifyUri: first.uri });
      await assert.rejects(
        test.client.submit({ workerId: test.workerId, workload: 'test-gate', inputs: [gate], responseTimeoutMs: 0, notifyUri: intruder.uri, workOrderId: submission.workOrderId }),
        (error: unknown) => error instanceof RpcCallError && error.code === 2 && /already exists/.test(error.message),
      );
      fs.writeFileSync(gate, '');
      const opened = await test.client.waitForResult(submission, { notifications: first, timeoutMs: 20_000 });
      assert.equal(opened.outData[0]!.data.toString(), gate);
      assert.equal(first.received, 1, 'the requester that created the work order got its notice');
      assert.equal(intruder.received, 0, 'the duplicate submission got no notice');
    } finally {
      await first.close();
      await intruder.close();
    }
  });
});
