/**
 * Negative tests: one field of an otherwise valid request or response is changed, and the receiving
 * side must refuse it with the right code (worker: TcfError.code) or kind (requester:
 * WorkOrderResultError.kind) and name the field.
 *
 * Two kinds of request tampering are covered. "In transit" is a third party changing the wire: the
 * request hash catches it before anything else. "Resealed" is someone holding the session key (the
 * requester itself, or a bug in its client) producing an inconsistent request with a matching request
 * hash and signature: the worker's deeper checks must still catch it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aesGcmEncrypt,
  base64ToBytes,
  buildWorkOrder,
  bytesToBase64,
  bytesToHex,
  DEFAULT_WORKER_POLICY,
  ecdsaSignDigest,
  generateSigningKey,
  hexToBytes,
  openWorkOrder,
  openWorkOrderResult,
  sealWorkOrderResult,
  sha256,
  TcfError,
  textToHex,
  validate,
  workOrderRequestHash,
  workOrderResponseHash,
  WorkOrderResultError,
  WorkOrderSubmitParams,
  type BuildWorkOrderOptions,
  type BuiltWorkOrder,
  type ResultErrorKind,
  type SigningKeyPair,
  type WorkerPolicy,
  type WorkOrderRequest,
  type WorkOrderResult,
} from '../../src/index.js';
import { echoUpper, flipBase64Byte, flipHexByte, makeWorker, runWorker, wireCopy, type TestWorker } from './fixtures.js';

const worker = makeWorker();
const otherWorker = makeWorker();
const requester = generateSigningKey();
const stranger = generateSigningKey();
const workloadId = textToHex('echo-result');

const BASE_ORDER: Omit<BuildWorkOrderOptions, 'worker' | 'workloadId'> = {
  inData: [{ data: 'first input' }, { data: 'second input' }],
  signer: requester,
};

function build(options: Partial<BuildWorkOrderOptions> = {}): BuiltWorkOrder {
  return buildWorkOrder({ worker: worker.keys, workloadId, ...BASE_ORDER, ...options });
}

/** What a key holder can do: recompute and re-encrypt the request hash (and re-sign) after a change. */
function reseal(params: WorkOrderRequest, built: BuiltWorkOrder, signer: SigningKeyPair | undefined = requester): WorkOrderRequest {
  const hash = workOrderRequestHash(params);
  params.encryptedRequestHash = bytesToHex(aesGcmEncrypt(built.secrets.sessionKey, built.secrets.sessionKeyIv, hash));
  if (signer) params.requesterSignature = bytesToBase64(ecdsaSignDigest(signer.privateKey, hash));
  return params;
}

function item(params: WorkOrderRequest, position: number) {
  const found = params.inData[position];
  assert.ok(found, `inData[${position}] exists`);
  return found;
}

interface WorkerRow {
  name: string;
  /** Options for the request before tampering (defaults: two session items, signed). */
  order?: Partial<BuildWorkOrderOptions>;
  tamper: (params: WorkOrderRequest, built: BuiltWorkOrder) => WorkOrderRequest;
  policy?: Partial<WorkerPolicy>;
  /** The order is refused as built (the fault is in the set-up, tamper is the identity). */
  refusedAsBuilt?: true;
  code: number;
  /** The field path the message must name, and optionally more of the message. */
  field: string;
  message?: RegExp;
}

const TAMPERED_HASH = /tampered/;

const workerRows: WorkerRow[] = [
  {
    name: 'a byte of an inData ciphertext, in transit',
    tamper: (p) => ((item(p, 0).data = flipBase64Byte(item(p, 0).data)), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: TAMPERED_HASH,
  },
  {
    name: 'a byte of an inData ciphertext, resealed',
    tamper: (p, b) => ((item(p, 1).data = flipBase64Byte(item(p, 1).data)), reseal(p, b)),
    code: 2,
    field: 'params.inData[1].data',
    message: /cannot be decrypted/,
  },
  {
    name: 'sessionKeyIv',
    tamper: (p) => ((p.sessionKeyIv = flipHexByte(p.sessionKeyIv ?? '')), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: /cannot be decrypted/,
  },
  {
    name: 'an item iv, in transit',
    tamper: (p) => ((item(p, 0).iv = flipHexByte(item(p, 0).iv ?? '')), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: TAMPERED_HASH,
  },
  {
    name: 'an item iv, resealed',
    tamper: (p, b) => ((item(p, 0).iv = flipHexByte(item(p, 0).iv ?? '')), reseal(p, b)),
    code: 2,
    field: 'params.inData[0].data',
    message: /wrong key or IV/,
  },
  {
    name: 'encryptedRequestHash',
    tamper: (p) => ((p.encryptedRequestHash = flipHexByte(p.encryptedRequestHash)), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: /cannot be decrypted/,
  },
  {
    name: 'requesterSignature',
    tamper: (p) => ((p.requesterSignature = flipBase64Byte(p.requesterSignature ?? '', 40)), p),
    code: 4,
    field: 'params.requesterSignature',
  },
  {
    name: 'requesterSignature by another key, verifyingKey unchanged',
    tamper: (p, b) => reseal(p, b, stranger),
    code: 4,
    field: 'params.requesterSignature',
    message: /does not verify/,
  },
  {
    name: 'requesterNonce',
    tamper: (p) => ((p.requesterNonce = flipHexByte(p.requesterNonce)), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: TAMPERED_HASH,
  },
  {
    name: 'workerId (the order is re-addressed)',
    tamper: (p) => ((p.workerId = otherWorker.secrets.workerId), p),
    code: 2,
    field: 'params.workerId',
    message: /addressed to/,
  },
  {
    name: 'workloadId',
    tamper: (p) => ((p.workloadId = textToHex('heart-disease-eval')), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: TAMPERED_HASH,
  },
  {
    name: 'workOrderId',
    tamper: (p) => ((p.workOrderId = flipHexByte(p.workOrderId)), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: TAMPERED_HASH,
  },
  {
    name: 'requesterId, in transit',
    tamper: (p) => ((p.requesterId = flipHexByte(p.requesterId)), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: TAMPERED_HASH,
  },
  {
    name: "encryptedSessionKey wrapped for another worker's RSA key",
    refusedAsBuilt: true,
    order: { worker: { ...worker.keys, encryptionKeyPem: otherWorker.keys.encryptionKeyPem } },
    tamper: (p) => p,
    code: 2,
    field: 'params.encryptedSessionKey',
    message: /cannot be unwrapped/,
  },
  {
    name: 'a dataHash, in transit',
    tamper: (p) => ((item(p, 0).dataHash = flipHexByte(item(p, 0).dataHash ?? '')), p),
    code: 2,
    field: 'params.encryptedRequestHash',
    message: TAMPERED_HASH,
  },
  {
    name: 'a dataHash, resealed',
    tamper: (p, b) => ((item(p, 1).dataHash = flipHexByte(item(p, 1).dataHash ?? '')), reseal(p, b)),
    code: 2,
    field: 'params.inData[1].dataHash',
    message: /does not match/,
  },
  {
    name: 'a valid signature whose requesterId is not bound to the key',
    refusedAsBuilt: true,
    order: { requesterId: sha256(Buffer.from('someone else')).toString('hex') },
    tamper: (p) => p,
    code: 4,
    field: 'params.requesterId',
    message: /SHA-256 of verifyingKey/,
  },
  {
    name: 'an unsigned request to a worker that requires signatures',
    refusedAsBuilt: true,
    order: { signer: undefined },
    tamper: (p) => p,
    policy: { requireRequesterSignature: true },
    code: 4,
    field: 'params.requesterSignature',
    message: /only signed/,
  },
  {
    name: 'a signature without its verifyingKey',
    tamper: (p) => (delete p.verifyingKey, p),
    code: 2,
    field: 'params.verifyingKey',
    message: /required/,
  },
  {
    name: 'two session items under the same IV (per-item policy)',
    tamper: (p, b) => {
      const first = item(p, 0);
      const second = item(p, 1);
      second.iv = first.iv ?? '';
      second.data = bytesToBase64(aesGcmEncrypt(b.secrets.sessionKey, hexToBytes(second.iv), Buffer.from('second input')));
      return reseal(p, b);
    },
    code: 2,
    field: 'params.inData[1].iv',
    message: /repeats an IV/,
  },
  {
    name: 'an item IV equal to sessionKeyIv (per-item policy)',
    tamper: (p, b) => {
      const first = item(p, 0);
      first.iv = p.sessionKeyIv ?? '';
      first.data = bytesToBase64(aesGcmEncrypt(b.secrets.sessionKey, b.secrets.sessionKeyIv, Buffer.from('first input')));
      return reseal(p, b);
    },
    code: 2,
    field: 'params.inData[0].iv',
    message: /repeats an IV/,
  },
  {
    name: "a per-item key wrapped for another worker's RSA key",
    order: { inData: [{ data: 'x', encryption: 'item-key' }] },
    tamper: (p, b) => {
      const other = buildWorkOrder({ worker: otherWorker.keys, workloadId, inData: [{ data: 'x', encryption: 'item-key' }] });
      item(p, 0).encryptedDataEncryptionKey = other.params.inData[0]?.encryptedDataEncryptionKey ?? null;
      return reseal(p, b);
    },
    code: 2,
    field: 'params.inData[0].encryptedDataEncryptionKey',
    message: /cannot be unwrapped/,
  },
  {
    name: 'a per-item key item without its iv',
    order: { inData: [{ data: 'x', encryption: 'item-key' }] },
    tamper: (p, b) => ((item(p, 0).iv = ''), reseal(p, b)),
    code: 2,
    field: 'params.inData[0].iv',
    message: /required/,
  },
  {
    name: "an outData key wrapped for another worker's RSA key",
    order: { outData: [{ index: 0, encryption: 'item-key' }] },
    tamper: (p, b) => {
      const other = buildWorkOrder({ worker: otherWorker.keys, workloadId, inData: [], outData: [{ index: 0, encryption: 'item-key' }] });
      const out = p.outData?.[0];
      assert.ok(out);
      out.encryptedDataEncryptionKey = other.params.outData?.[0]?.encryptedDataEncryptionKey ?? null;
      return reseal(p, b);
    },
    code: 2,
    field: 'params.outData[0].encryptedDataEncryptionKey',
    message: /cannot be unwrapped/,
  },
  {
    name: 'inData data that is not base64, resealed',
    tamper: (p, b) => ((item(p, 0).data = 'not base64!'), reseal(p, b)),
    code: 2,
    field: 'params.inData[0].data',
  },
  {
    name: 'an odd-length hex encryptedDataEncryptionKey, resealed',
    tamper: (p, b) => ((item(p, 0).encryptedDataEncryptionKey = 'abc'), reseal(p, b)),
    code: 2,
    field: 'params.inData[0].encryptedDataEncryptionKey',
  },
];

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('worker refuses a tampered request', () => {
  for (const row of workerRows) {
    it(`${row.name} → code ${row.code}, ${row.field}`, () => {
      const built = build(row.order);
      const policy = { ...DEFAULT_WORKER_POLICY, ...row.policy };
      // The untouched order is accepted, so the refusal below is caused by the tamper alone.
      if (!row.refusedAsBuilt) assert.doesNotThrow(() => openWorkOrder(wireCopy(built.params), worker.secrets, policy));
      const tampered = row.tamper(wireCopy(built.params), built);
      // Each change is well-formed: the schema lets it through and the worker's checks must catch it.
      const checked = validate(WorkOrderSubmitParams, tampered);
      assert.ok(checked.ok, checked.ok ? '' : checked.error.message);
      assert.throws(
        () => openWorkOrder(checked.value, worker.secrets, policy),
        (error: unknown) => {
          assert.ok(error instanceof TcfError, `a TcfError, got ${String(error)}`);
          assert.equal(error.code, row.code, error.message);
          assert.match(error.message, new RegExp(`^${escape(row.field)}: `));
          if (row.message) assert.match(error.message, row.message);
          return true;
        },
      );
    });
  }

});

describe('worker policy switches that accept what the defaults refuse', () => {
  it("an unbound requesterId with a valid signature is accepted under requesterKeyBinding 'unbound'", () => {
    const built = build({ requesterId: sha256(Buffer.from('someone else')).toString('hex') });
    const run = runWorker(wireCopy(built.params), worker, { ...DEFAULT_WORKER_POLICY, requesterKeyBinding: 'unbound' });
    assert.deepEqual(run.opened.inputs.map((input) => input.data.toString('utf8')), ['first input', 'second input']);
  });

  it("a bad signature is still refused under 'unbound'", () => {
    const built = build({ requesterId: 'abcdef' });
    const params = reseal(wireCopy(built.params), built, stranger);
    assert.throws(
      () => openWorkOrder(params, worker.secrets, { ...DEFAULT_WORKER_POLICY, requesterKeyBinding: 'unbound' }),
      (error: unknown) => error instanceof TcfError && error.code === 4,
    );
  });

  it('a signed request to a worker that requires signatures is accepted', () => {
    const built = build();
    assert.doesNotThrow(() => openWorkOrder(wireCopy(built.params), worker.secrets, { ...DEFAULT_WORKER_POLICY, requireRequesterSignature: true }));
  });
});

// ---------------------------------------------------------------------------------------------------
// Requester side

interface Answer {
  built: BuiltWorkOrder;
  result: WorkOrderResult;
}

/** A genuine answer to a fresh order with one session output, one plain and one per-item output. */
function answer(): Answer {
  const built = build({
    inData: [{ data: 'first input' }, { data: 'second input' }, { data: 'third input' }],
    outData: [{ index: 1, encryption: 'plain' }, { index: 2, encryption: 'item-key' }],
  });
  return { built, result: wireCopy(runWorker(wireCopy(built.params), worker).result) };
}

/** Signs a (changed) result with a worker's key, as a misbehaving worker would. */
function resign(result: WorkOrderResult, by: TestWorker = worker): WorkOrderResult {
  const hash = workOrderResponseHash(result, by.secrets.hashingAlgorithm);
  return { ...result, workerSignature: bytesToBase64(ecdsaSignDigest(by.secrets.signingKey.privateKey, hash)) };
}

function outItem(result: WorkOrderResult, position: number) {
  const found = result.outData[position];
  assert.ok(found, `outData[${position}] exists`);
  return found;
}

interface RequesterRow {
  name: string;
  tamper: (result: WorkOrderResult, built: BuiltWorkOrder) => unknown;
  kind: ResultErrorKind;
  /** What the message must name (a field path or its start). */
  names?: string;
}

const requesterRows: RequesterRow[] = [
  {
    name: 'a byte of an outData ciphertext',
    tamper: (r) => ((outItem(r, 0).data = flipBase64Byte(outItem(r, 0).data)), r),
    kind: 'tampered-item',
    names: 'result.outData[index 0]',
  },
  {
    name: 'a byte of a per-item-key outData ciphertext',
    tamper: (r) => ((outItem(r, 2).data = flipBase64Byte(outItem(r, 2).data)), r),
    kind: 'tampered-item',
    names: 'result.outData[index 2]',
  },
  {
    name: 'an outData iv',
    tamper: (r) => ((outItem(r, 0).iv = flipHexByte(outItem(r, 0).iv ?? '')), r),
    kind: 'tampered-item',
    names: 'result.outData[index 0]',
  },
  {
    name: 'an outData dataHash',
    tamper: (r) => ((outItem(r, 0).dataHash = flipHexByte(outItem(r, 0).dataHash ?? '')), r),
    kind: 'hash-mismatch',
    names: 'result.outData[index 0].dataHash',
  },
  {
    name: 'the plaintext of a plain "-" output',
    tamper: (r) => ((outItem(r, 1).data = Buffer.from('SOMETHING ELSE').toString('base64')), r),
    kind: 'hash-mismatch',
    names: 'result.outData[index 1].dataHash',
  },
  {
    name: 'an outData dataHash, re-signed by the worker',
    tamper: (r) => ((outItem(r, 0).dataHash = flipHexByte(outItem(r, 0).dataHash ?? '')), resign(r)),
    kind: 'hash-mismatch',
    names: 'result.outData[index 0].dataHash',
  },
  {
    name: 'workerSignature',
    tamper: (r) => ({ ...r, workerSignature: flipBase64Byte(r.workerSignature, 40) }),
    kind: 'bad-signature',
    names: 'result.workerSignature',
  },
  {
    name: 'workerNonce',
    tamper: (r) => ({ ...r, workerNonce: flipBase64Byte(r.workerNonce) }),
    kind: 'bad-signature',
    names: 'result.workerSignature',
  },
  {
    name: 'an item removed from outData',
    tamper: (r) => ({ ...r, outData: r.outData.slice(1) }),
    kind: 'bad-signature',
    names: 'result.workerSignature',
  },
  {
    name: 'workOrderId echo',
    tamper: (r) => resign({ ...r, workOrderId: flipHexByte(r.workOrderId) }),
    kind: 'id-mismatch',
    names: 'result.workOrderId',
  },
  {
    name: 'workerId echo',
    tamper: (r) => resign({ ...r, workerId: otherWorker.secrets.workerId }),
    kind: 'id-mismatch',
    names: 'result.workerId',
  },
  {
    name: 'requesterId echo',
    tamper: (r) => resign({ ...r, requesterId: flipHexByte(r.requesterId) }),
    kind: 'id-mismatch',
    names: 'result.requesterId',
  },
  {
    name: 'workloadId echo',
    tamper: (r) => resign({ ...r, workloadId: textToHex('other-workload') }),
    kind: 'id-mismatch',
    names: 'result.workloadId',
  },
  {
    name: "a response signed by the worker but encrypted under another work order's session key",
    tamper: (_r, built) => {
      const opened = openWorkOrder(wireCopy(built.params), worker.secrets);
      const elsewhere = openWorkOrder(wireCopy(build().params), worker.secrets);
      return wireCopy(sealWorkOrderResult({ ...opened, sessionKey: elsewhere.sessionKey }, echoUpper(opened), worker.secrets).result);
    },
    kind: 'wrong-key',
    names: 'result.outData[index 0]',
  },
  {
    name: 'a response signed by a different worker key',
    tamper: (r) => resign(r, otherWorker),
    kind: 'bad-signature',
    names: 'result.workerSignature',
  },
  { name: 'a string', tamper: () => 'garbage', kind: 'malformed-response', names: 'result' },
  { name: 'null', tamper: () => null, kind: 'malformed-response', names: 'result' },
  { name: 'an array', tamper: () => [], kind: 'malformed-response', names: 'result' },
  {
    name: 'workerSignature missing',
    tamper: (r) => {
      const { workerSignature: _dropped, ...rest } = r;
      return rest;
    },
    kind: 'malformed-response',
    names: 'result.workerSignature',
  },
  {
    name: 'workerSignature not base64',
    tamper: (r) => ({ ...r, workerSignature: 'not base64!' }),
    kind: 'malformed-response',
    names: 'result.workerSignature',
  },
  {
    name: 'outData not an array',
    tamper: (r) => ({ ...r, outData: {} }),
    kind: 'malformed-response',
    names: 'result.outData',
  },
  {
    name: 'an outData item without index',
    tamper: (r) => {
      const { index: _dropped, ...rest } = outItem(r, 0);
      return { ...r, outData: [rest, ...r.outData.slice(1)] };
    },
    kind: 'malformed-response',
    names: 'result.outData[0].index',
  },
];

describe('requester refuses a tampered response', () => {
  it('the untampered answer opens', () => {
    const { built, result } = answer();
    const opened = openWorkOrderResult(result, built, worker.keys);
    assert.deepEqual(opened.outData.map((output) => output.data.toString('utf8')), ['FIRST INPUT', 'SECOND INPUT', 'THIRD INPUT']);
  });

  for (const row of requesterRows) {
    it(`${row.name} → ${row.kind}`, () => {
      const { built, result } = answer();
      const tampered = row.tamper(result, built);
      assert.throws(
        () => openWorkOrderResult(tampered, built, worker.keys),
        (error: unknown) => {
          assert.ok(error instanceof WorkOrderResultError, `a WorkOrderResultError, got ${String(error)}`);
          assert.equal(error.kind, row.kind, error.message);
          if (row.names) assert.ok(error.message.startsWith(row.names), `"${error.message}" names ${row.names}`);
          return true;
        },
      );
    });
  }

  it("the worker's genuine signature does not verify under another worker's key (bad-signature)", () => {
    const { built, result } = answer();
    assert.throws(
      () => openWorkOrderResult(result, built, { ...worker.keys, verificationKeyPem: otherWorker.keys.verificationKeyPem }),
      (error: unknown) => error instanceof WorkOrderResultError && error.kind === 'bad-signature',
    );
  });

  it("resign() reproduces the worker's own signature, so the re-signed rows stand for a real worker", () => {
    const { result } = answer();
    // RFC 6979 is deterministic: the same key over the same response hash gives the same bytes.
    assert.equal(resign(result).workerSignature, result.workerSignature);
  });
});
