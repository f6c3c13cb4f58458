/**
 * End to end on the real node: `tcf node start` as its own OS process (listener, enclave manager,
 * worker processes, LMDB), driven over HTTP by the SDK's requester code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  base64ToBytes,
  ecdsaVerifyDigest,
  ErrorCode,
  generateSigningKey,
  receiptUpdateHash,
  ReceiptStatus,
  requesterIdForKey,
  textToHex,
  workOrderResponseHash,
  verifyingKeyFromPem,
} from '../../src/index.js';
import { HARDWARE_ONLY_POLICY, UntrustedWorkerError } from '../../src/attestation/index.js';
import { NotifyListener, RpcCallError, TcfClient } from '../../src/client/index.js';
import { buildWorkOrder } from '../../src/workorder/index.js';
import { startNodeProcess, tempDir, type NodeProcess } from '../helpers/node-process.js';

describe('TCS node end to end (real processes over HTTP)', () => {
  let node: NodeProcess;
  let client: TcfClient;
  let workerId: string;

  before(async () => {
    const dataDir = tempDir('e2e');
    fs.mkdirSync(path.join(dataDir, 'workload-data'), { recursive: true });
    node = await startNodeProcess({ dataDir, args: ['--processes', '2'], env: { TCF_LISTENER_LOOK_UP_PAGE_SIZE: '2', TCF_LISTENER_NOTIFY_URI_PREFIXES: 'http://127.0.0.1:' } });
    client = new TcfClient(node.url);
    workerId = node.workers[0]!.workerId;
  });

  after(async () => {
    await node.stop();
    fs.rmSync(node.dataDir, { recursive: true, force: true });
  });

  it('registers its worker with simulated evidence that passes only a policy allowing simulation', async () => {
    assert.deepEqual(await client.lookUpWorkers({ workerType: 1 }), [workerId]);
    const trusted = await client.trustedWorker(workerId);
    assert.equal(trusted.evidence.simulated, true);
    await assert.rejects(client.trustedWorker(workerId, HARDWARE_ONLY_POLICY), (error: unknown) => {
      assert.ok(error instanceof UntrustedWorkerError);
      assert.match(error.message, /SIMULATED TEE/);
      return true;
    });
    assert.match(node.logs(), /SIMULATED TEE/);
  });

  it('echo-result: many items, signed, synchronous answer, verified and decrypted', async () => {
    const signer = generateSigningKey();
    const opened = await client.run({ workerId, workload: 'echo-result', inputs: ['one', 'two', 'three'], signer, responseTimeoutMs: 10_000 });
    assert.deepEqual(opened.outData.map((item) => item.data.toString()), ['RESULT: one', 'RESULT: two', 'RESULT: three']);
    assert.equal(opened.result.requesterId, requesterIdForKey(signer.publicKey));
  });

  it('echo-result asynchronously: PENDING first, then the result by polling', async () => {
    const submission = await client.submit({ workerId, workload: 'echo-result', inputs: ['later'], responseTimeoutMs: 0 });
    assert.equal(submission.opened, undefined);
    const opened = await client.waitForResult(submission);
    assert.equal(opened.outData[0]!.data.toString(), 'RESULT: later');
  });

  it('notifies an allowed notifyUri when the result is ready, and refuses URIs the operator did not allow', async () => {
    const notices = await NotifyListener.start();
    try {
      const submission = await client.submit({ workerId, workload: 'echo-result', inputs: ['notify me'], responseTimeoutMs: 0, notifyUri: notices.uri });
      let pendingPolls = 0;
      const opened = await client.waitForResult(submission, { notifications: notices, timeoutMs: 10_000, onPending: () => (pendingPolls += 1) });
      assert.equal(opened.outData[0]!.data.toString(), 'RESULT: notify me');
      assert.equal(notices.received, 1, 'the TCS sent the completion notice');
      assert.equal(pendingPolls, 0, 'the notice came first: no poll found the work order pending');
    } finally {
      await notices.close();
    }
    await assert.rejects(client.submit({ workerId, workload: 'echo-result', inputs: ['x'], notifyUri: 'http://10.1.2.3/hook' }), (error: unknown) => {
      assert.ok(error instanceof RpcCallError);
      assert.equal(error.code, ErrorCode.INVALID_PARAMETER);
      assert.match(error.message, /params\.notifyUri/);
      return true;
    });
  });

  it('heart-disease-eval answers a risk figure in Avalon\'s format', async () => {
    const opened = await client.run({ workerId, workload: 'heart-disease-eval', inputs: ['Data: 25 10 1 67 102 125 1 95 5 10 1 11 36 1'], responseTimeoutMs: 10_000 });
    assert.match(opened.outData[0]!.data.toString(), /^You have a \d+% risk of heart disease$/);
  });

  it('inside-out-eval writes and reads data the TCS hosts through the I/O plug-in', async () => {
    const written = await client.run({ workerId, workload: 'inside-out-eval', inputs: ['write notes.txt secret-notes'], responseTimeoutMs: 10_000 });
    assert.equal(written.outData[0]!.data.toString(), 'RESULT: FILE WRITE SUCCESS');
    const read = await client.run({ workerId, workload: 'inside-out-eval', inputs: ['read notes.txt'], responseTimeoutMs: 10_000 });
    assert.equal(read.outData[0]!.data.toString(), 'RESULT: secret-notes');
  });

  it('unknown workload: error 9 naming the workload', async () => {
    await assert.rejects(client.run({ workerId, workload: 'no-such-workload', inputs: ['x'], responseTimeoutMs: 10_000 }), (error: unknown) => {
      assert.ok(error instanceof RpcCallError);
      assert.equal(error.code, ErrorCode.INVALID_WORKLOAD);
      assert.match(error.message, /no-such-workload/);
      return true;
    });
  });

  it('unknown worker: error 2', async () => {
    const unknown = 'ab'.repeat(32);
    await assert.rejects(client.rpc.call('WorkerRetrieve', { workerId: unknown }), (error: unknown) => error instanceof RpcCallError && error.code === 2 && /does not exist/.test(error.message));
  });

  it('duplicate workOrderId: error 2, and the first work order is untouched', async () => {
    const first = await client.submit({ workerId, workload: 'echo-result', inputs: ['first'], responseTimeoutMs: 10_000 });
    await assert.rejects(client.submit({ workerId, workload: 'echo-result', inputs: ['second'], workOrderId: first.workOrderId, responseTimeoutMs: 10_000 }), (error: unknown) => {
      assert.ok(error instanceof RpcCallError);
      assert.equal(error.code, ErrorCode.INVALID_PARAMETER);
      assert.match(error.message, /params\.workOrderId: .*already exists/);
      return true;
    });
    assert.equal((await client.waitForResult(first)).outData[0]!.data.toString(), 'RESULT: first');
  });

  it('bad requester signature: error 4 at submit, nothing stored', async () => {
    const trusted = await client.trustedWorker(workerId);
    const built = buildWorkOrder({ worker: trusted.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'x' }], signer: generateSigningKey() });
    const signature = base64ToBytes(built.params.requesterSignature!);
    signature[signature.length - 1]! ^= 1;
    built.params.requesterSignature = signature.toString('base64');
    await assert.rejects(client.rpc.call('WorkOrderSubmit', built.params), (error: unknown) => error instanceof RpcCallError && error.code === ErrorCode.INVALID_SIGNATURE);
    await assert.rejects(client.rpc.call('WorkOrderGetResult', { workOrderId: built.params.workOrderId }), (error: unknown) => error instanceof RpcCallError && error.code === 2 && /does not exist/.test(error.message));
  });

  it('tampered request: the worker refuses it with error 2 and says so', async () => {
    const trusted = await client.trustedWorker(workerId);
    const built = buildWorkOrder({ worker: trusted.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'pay 10' }] });
    built.params.requesterNonce = built.params.requesterNonce.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    built.params.responseTimeoutMSecs = 10_000;
    await assert.rejects(client.rpc.call('WorkOrderSubmit', built.params), (error: unknown) => {
      assert.ok(error instanceof RpcCallError);
      assert.equal(error.code, ErrorCode.INVALID_PARAMETER);
      assert.match(error.message, /encryptedRequestHash.*tampered/);
      return true;
    });
  });

  it('malformed params: error 2 naming the field', async () => {
    await assert.rejects(client.rpc.call('WorkOrderGetResult', { workOrderId: 'not-hex' }), (error: unknown) => error instanceof RpcCallError && error.code === 2 && /params\.workOrderId/.test(error.message));
  });

  it('receipts: requester creates, worker signs its completion update, lookups page through', async () => {
    const signer = generateSigningKey();
    const requesterId = requesterIdForKey(signer.publicKey);
    const submissions = [];
    for (const text of ['r1', 'r2', 'r3', 'r4', 'r5']) {
      const submission = await client.submit({ workerId, workload: 'echo-result', inputs: [text], signer, responseTimeoutMs: 10_000 });
      await client.waitForResult(submission);
      await client.createReceipt(submission, signer);
      submissions.push(submission);
    }
    const worker = await client.getWorker(workerId);
    const workerKey = verifyingKeyFromPem(worker.details.workerTypeData.verificationKey);
    for (const submission of submissions) {
      const receipt = await client.retrieveReceipt(submission.workOrderId);
      assert.equal(receipt.receiptCurrentStatus, ReceiptStatus.PROCESSED);
      const update = await client.retrieveReceiptUpdate(submission.workOrderId, 0xffffffff);
      assert.equal(update.updateCount, 1);
      assert.equal(update.updaterId, workerId);
      assert.equal(update.updateType, ReceiptStatus.PROCESSED);
      // updateData commits to the exact result the requester received.
      assert.equal(update.updateData, workOrderResponseHash(submission.opened!.result).toString('hex'));
      assert.ok(ecdsaVerifyDigest(workerKey, receiptUpdateHash(update), base64ToBytes(update.updateSignature)));
    }
    // The requester closes one receipt; a forged worker update is refused.
    await client.updateReceipt(submissions[0]!.workOrderId, signer, ReceiptStatus.COMPLETED, 'accepted');
    assert.equal((await client.retrieveReceipt(submissions[0]!.workOrderId)).receiptCurrentStatus, ReceiptStatus.COMPLETED);
    await assert.rejects(client.updateReceipt(submissions[0]!.workOrderId, signer, ReceiptStatus.PROCESSED, 'again'), (error: unknown) => error instanceof RpcCallError && error.code === 2);

    // Page size is 2 in this node: five receipts come back over three pages, no id twice.
    const seen: string[] = [];
    let page = await client.lookUpReceipts({ requesterId });
    assert.equal(page.totalCount, 5);
    seen.push(...page.ids);
    let pages = 1;
    while (page.lookupTag) {
      page = await client.lookUpReceipts({ requesterId }, page.lookupTag);
      seen.push(...page.ids);
      pages += 1;
    }
    assert.equal(pages, 3);
    assert.deepEqual([...seen].sort(), submissions.map((s) => s.workOrderId).sort());
    const completed = await client.lookUpReceipts({ requesterId, receiptStatus: ReceiptStatus.COMPLETED });
    assert.deepEqual(completed.ids, [submissions[0]!.workOrderId]);
  });

  it('logs no secret: no private key, no plaintext input or output, no session key', async () => {
    const logs = node.logs();
    assert.ok(logs.length > 0);
    assert.doesNotMatch(logs, /PRIVATE KEY/);
    for (const plaintext of ['secret-notes', 'notify me', 'RESULT: later', '25 10 1 67']) assert.equal(logs.includes(plaintext), false, `logs contain "${plaintext}"`);
    const sealed = fs.readFileSync(path.join(node.dataDir, 'workers', workerId, 'sealed-keys'));
    assert.equal(sealed.includes(Buffer.from('PRIVATE')), false, 'keys rest sealed on disk');
    assert.equal(fs.statSync(path.join(node.dataDir, 'workers', workerId, 'sealed-keys')).mode & 0o777, 0o600);
  });

  it('rejects operator methods from anonymous callers with ACCESS_DENIED', async () => {
    const worker = await client.getWorker(workerId);
    await assert.rejects(
      client.rpc.call('WorkerSetStatus', { workerId, status: 2 }),
      (error: unknown) => error instanceof RpcCallError && error.code === ErrorCode.ACCESS_DENIED,
    );
    assert.equal((await client.getWorker(workerId)).status, worker.status);
  });
});
