/**
 * The listener's transport behaviour over real HTTP against a real LMDB store, with no enclave
 * manager running, so that work stays pending: malformed JSON, non-UTF-8 bodies, oversized bodies,
 * batches, notifications, PENDING answers and operator authentication.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateEncryptionKey, generateSigningKey, ecdsaSignDigest, bytesToHex, textToHex } from '../../src/crypto/index.js';
import { checkCall, encryptionKeyHash, ErrorCode, type WorkerRecord } from '../../src/protocol/index.js';
import { Listener } from '../../src/listener/index.js';
import { TcsService } from '../../src/service/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { createLogger } from '../../src/log/index.js';
import { createSimulatedEvidence, SIMULATED_PROOF_TYPE } from '../../src/attestation/index.js';
import { buildWorkOrder } from '../../src/workorder/index.js';
import { tempDir } from '../helpers/node-process.js';

const OPERATOR_TOKEN = 'operator-secret-for-tests';

function workerRecord(): { record: WorkerRecord; keys: { encryptionKeyPem: string; verificationKeyPem: string; workerId: string } } {
  const signing = generateSigningKey();
  const encryption = generateEncryptionKey(2048);
  const workerId = 'cd'.repeat(32);
  return {
    keys: { workerId, encryptionKeyPem: encryption.publicKeyPem, verificationKeyPem: signing.publicKeyPem },
    record: {
      workerId,
      workerType: 1,
      organizationId: 'aa',
      applicationTypeId: ['bb'],
      status: 1,
      details: {
        hashingAlgorithm: 'SHA-256',
        signingAlgorithm: 'SECP256K1',
        keyEncryptionAlgorithm: 'RSA-OAEP-2048',
        dataEncryptionAlgorithm: 'AES-GCM-256',
        workerTypeData: {
          verificationKey: signing.publicKeyPem,
          encryptionKey: encryption.publicKeyPem,
          encryptionKeySignature: bytesToHex(ecdsaSignDigest(signing.privateKey, encryptionKeyHash(encryption.publicKeyPem))),
          proofDataType: SIMULATED_PROOF_TYPE,
          proofData: JSON.stringify(
            createSimulatedEvidence('00', { workerId, verificationKeyPem: signing.publicKeyPem, encryptionKeyPem: encryption.publicKeyPem, issuedAt: new Date().toISOString() }),
          ),
        },
      },
    },
  };
}

describe('listener over HTTP (no enclave manager: work stays pending)', () => {
  let dataDir: string;
  let store: Store;
  let service: TcsService;
  let listener: Listener;
  let url: string;
  const worker = workerRecord();

  before(async () => {
    dataDir = tempDir('listener');
    store = await openStore(path.join(dataDir, 'store'));
    await store.putWorker(worker.record);
    service = new TcsService(store, { maxPendingWorkOrders: 3, maxSyncWaitMs: 200, lookUpPageSize: 10, requesterKeyBinding: 'bound', requireRequesterSignature: false, notifyUriPrefixes: [] });
    listener = new Listener(service, { host: '127.0.0.1', port: 0, bodyLimitBytes: 64 * 1024, operatorToken: OPERATOR_TOKEN }, createLogger('test', { level: 'silent' }));
    url = await listener.start();
  });

  after(async () => {
    await listener.stop();
    service.close();
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function post(body: string | Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Blob([Uint8Array.from(body)]) });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  }

  function order(workOrderId?: string, responseTimeoutMSecs = 0) {
    const options: Parameters<typeof buildWorkOrder>[0] = { worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'x' }], responseTimeoutMSecs };
    if (workOrderId) options.workOrderId = workOrderId;
    return buildWorkOrder(options).params;
  }

  it('answers malformed JSON with -32700 and keeps serving', async () => {
    assert.deepEqual((await post('{"jsonrpc":')).json, { jsonrpc: '2.0', id: null, error: { code: ErrorCode.PARSE_ERROR, message: 'request body is not valid UTF-8 JSON' } });
    assert.equal(((await post(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).json as { error: { code: number } }).error.code, ErrorCode.PARSE_ERROR);
    const ok = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'WorkerLookUp', params: {} }));
    assert.deepEqual(ok.json, { jsonrpc: '2.0', id: 1, result: { totalCount: 1, lookupTag: '', ids: [worker.record.workerId] } });
  });

  it('refuses an oversized body with HTTP 413 before parsing it', async () => {
    const response = await post('x'.repeat(70 * 1024));
    assert.equal(response.status, 413);
    assert.equal((response.json as { error: { code: number } }).error.code, ErrorCode.INVALID_REQUEST);
  });

  it('answers an unknown method with -32601 and an envelope error with -32600', async () => {
    const unknown = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'DropTables', params: {} }));
    assert.equal((unknown.json as { error: { code: number } }).error.code, ErrorCode.METHOD_NOT_FOUND);
    const badEnvelope = await post(JSON.stringify({ jsonrpc: '1.0', id: 8, method: 'WorkerLookUp' }));
    assert.deepEqual((badEnvelope.json as { id: number }).id, 8);
    assert.equal((badEnvelope.json as { error: { code: number } }).error.code, ErrorCode.INVALID_REQUEST);
  });

  it('answers a batch call by call, and sends nothing for notifications', async () => {
    const batch = await post(JSON.stringify([
      { jsonrpc: '2.0', id: 'a', method: 'WorkerRetrieve', params: { workerId: worker.record.workerId } },
      { jsonrpc: '2.0', id: 'b', method: 'WorkerRetrieve', params: { workerId: 'zz' } },
      { jsonrpc: '2.0', method: 'WorkerLookUp', params: {} },
    ]));
    const replies = batch.json as { id: string; result?: { status: number }; error?: { code: number; message: string } }[];
    assert.equal(replies.length, 2);
    assert.equal(replies[0]!.id, 'a');
    assert.equal(replies[0]!.result!.status, 1);
    assert.equal(replies[1]!.error!.code, ErrorCode.INVALID_PARAMETER);
    assert.match(replies[1]!.error!.message, /params\.workerId/);
    const notification = await post(JSON.stringify({ jsonrpc: '2.0', method: 'WorkerLookUp', params: {} }));
    assert.equal(notification.status, 204);
  });

  it('answers PENDING (5) with the workOrderId, for submit and for GetResult while unprocessed', async () => {
    const params = order();
    const submitted = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'WorkOrderSubmit', params }));
    const error = (submitted.json as { error: { code: number; data: { workOrderId: string } } }).error;
    assert.equal(error.code, ErrorCode.PENDING);
    assert.equal(error.data.workOrderId, params.workOrderId);
    const result = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'WorkOrderGetResult', params: { workOrderId: params.workOrderId } }));
    assert.equal((result.json as { error: { code: number; data: { state: string } } }).error.code, ErrorCode.PENDING);
    assert.equal((result.json as { error: { data: { state: string } } }).error.data.state, 'queued');
  });

  it('holds a synchronous submit for at most maxSyncWaitMs, then answers PENDING', async () => {
    const started = Date.now();
    const submitted = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'WorkOrderSubmit', params: order(undefined, 60_000) }));
    assert.equal((submitted.json as { error: { code: number } }).error.code, ErrorCode.PENDING);
    assert.ok(Date.now() - started < 5_000);
  });

  it('answers BUSY (8) past the pending cap and stores nothing for the refused order', async () => {
    const third = order();
    await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'WorkOrderSubmit', params: third }));
    const refused = order();
    const busy = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'WorkOrderSubmit', params: refused }));
    assert.equal((busy.json as { error: { code: number } }).error.code, ErrorCode.BUSY);
    assert.equal(await store.getWorkOrder(refused.workOrderId), undefined);
  });

  it('lets only the operator token call WorkerSetStatus', async () => {
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'WorkerSetStatus', params: { workerId: worker.record.workerId, status: 2 } });
    assert.equal(((await post(call)).json as { error: { code: number } }).error.code, ErrorCode.ACCESS_DENIED);
    assert.equal(((await post(call, { authorization: 'Bearer wrong' })).json as { error: { code: number } }).error.code, ErrorCode.ACCESS_DENIED);
    const allowed = await post(call, { authorization: `Bearer ${OPERATOR_TOKEN}` });
    assert.deepEqual((allowed.json as { error: unknown }).error, { code: 0, message: 'Worker status updated successfully' });
    assert.equal((await store.getWorker(worker.record.workerId))!.status, 2);
  });

  it('limits each proven requester to its rate, and unsigned work orders by client address whatever requesterId they name', async () => {
    const limited = new TcsService(store, { maxPendingWorkOrders: 1000, maxSyncWaitMs: 200, lookUpPageSize: 10, requesterKeyBinding: 'bound', requireRequesterSignature: false, notifyUriPrefixes: [], requesterRatePerSecond: 0.01, requesterBurst: 2 });
    // The operator test above took the worker off-line; this one needs it active.
    await store.updateWorker(worker.record.workerId, { status: 1 });
    try {
      const unsigned = (requesterId: string) => {
        const params = buildWorkOrder({ worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'x' }], requesterId }).params;
        return { params, call: checkCall({ jsonrpc: '2.0', id: 1, method: 'WorkOrderSubmit', params }) };
      };
      const signed = (signer: ReturnType<typeof generateSigningKey>) =>
        checkCall({ jsonrpc: '2.0', id: 1, method: 'WorkOrderSubmit', params: buildWorkOrder({ worker: worker.keys, workloadId: textToHex('echo-result'), inData: [{ data: 'x' }], signer }).params });
      const code = (answer: Awaited<ReturnType<TcsService['call']>>) => ('error' in answer ? answer.error.code : 'result');
      const attacker = { operator: false, client: '198.51.100.7' };

      // One client inventing a fresh requesterId per work order still has one bucket: its address.
      const codes = [];
      for (const id of ['e1', 'e2', 'e3']) codes.push(code(await limited.call(unsigned(id.repeat(32)).call, attacker)));
      assert.deepEqual(codes, [ErrorCode.PENDING, ErrorCode.PENDING, ErrorCode.BUSY]);
      const refused = unsigned('e4'.repeat(32));
      const busy = await limited.call(refused.call, attacker);
      assert.ok('error' in busy && /client address .* over its limit/.test(busy.error.message));
      assert.equal(await store.getWorkOrder(refused.params.workOrderId), undefined, 'a refused work order is not stored');
      assert.equal(code(await limited.call(unsigned('e5'.repeat(32)).call, { operator: false, client: '203.0.113.9' })), ErrorCode.PENDING, 'another client has its own bucket');

      // A signed work order under the bound key binding proves its requesterId: each key has its own bucket.
      const alice = generateSigningKey();
      const aliceCodes = [];
      for (let index = 0; index < 3; index += 1) aliceCodes.push(code(await limited.call(signed(alice), attacker)));
      assert.deepEqual(aliceCodes, [ErrorCode.PENDING, ErrorCode.PENDING, ErrorCode.BUSY]);
      assert.equal(code(await limited.call(signed(generateSigningKey()), attacker)), ErrorCode.PENDING);
    } finally {
      limited.close();
    }
  });
});
