/**
 * Every method of METHOD_PARAMS: a minimal params object (only the required fields) and a full one
 * shaped as Avalon's clients send it (field names and casing from Avalon's listener schemas and
 * Python SDK, as summarised in shared/reference/avalon-map.md §2–§5) are accepted; a missing required
 * field, a wrongly typed field and an unknown field are refused with code 2 naming the JSON path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildWorkOrder,
  bytesToBase64,
  bytesToHex,
  checkCall,
  ecdsaSignDigest,
  encryptionKeyHash,
  generateSigningKey,
  METHOD_PARAMS,
  randomBytes,
  responseId,
  sha256,
  TcfError,
  textToHex,
  utf8,
  validate,
  type MethodName,
  type Schema,
} from '../../src/index.js';
import { makeWorker, wireCopy } from './fixtures.js';

type Json = Record<string, unknown>;

const worker = makeWorker();
const requester = generateSigningKey();
const upperHex = (bytes: Uint8Array) => bytesToHex(bytes).toUpperCase();
// Avalon's conventions (avalon-map §3.1): workerId = sha256(worker name), workloadId = hex(name),
// ids from token_hex(32), SDK hex output in upper case.
const workerId = sha256(utf8('singleton-worker-1')).toString('hex');
const organizationId = upperHex(randomBytes(32));
const applicationTypeId = upperHex(randomBytes(32));
const workOrderId = upperHex(randomBytes(32));
const signature = bytesToBase64(ecdsaSignDigest(requester.privateKey, sha256(utf8('anything'))));
const encryptionKeySignature = upperHex(ecdsaSignDigest(worker.secrets.signingKey.privateKey, encryptionKeyHash(worker.keys.encryptionKeyPem)));
/** Avalon's receipt updaterId: the PEM body without its armour lines and newlines. */
const updaterId = requester.publicKeyPem.split('\n').filter((line) => line && !line.startsWith('-----')).join('');

const minimalDetails: Json = {
  hashingAlgorithm: 'SHA-256',
  signingAlgorithm: 'SECP256K1',
  keyEncryptionAlgorithm: 'RSA-OAEP-3072',
  dataEncryptionAlgorithm: 'AES-GCM-256',
  workerTypeData: {
    verificationKey: worker.keys.verificationKeyPem,
    encryptionKey: worker.keys.encryptionKeyPem,
    encryptionKeySignature,
  },
};

/** The worker details object as Avalon's enclave manager writes it (avalon-map §4). */
const avalonDetails: Json = {
  workOrderSyncUri: '',
  workOrderAsyncUri: '',
  workOrderPullUri: '',
  workOrderNotifyUri: '',
  receiptInvocationUri: '',
  workOrderInvocationAddress: '',
  receiptInvocationAddress: '',
  fromAddress: '',
  hashingAlgorithm: 'SHA-256',
  signingAlgorithm: 'SECP256K1',
  keyEncryptionAlgorithm: 'RSA-OAEP-3072',
  dataEncryptionAlgorithm: 'AES-GCM-256',
  workOrderPayloadFormats: 'JSON-RPC',
  workerTypeData: {
    verificationKey: worker.keys.verificationKeyPem,
    extendedMeasurements: ['avalon-singleton-enclave', upperHex(randomBytes(32))],
    proofDataType: 'TEE-SGX-IAS',
    proofData: '',
    encryptionKey: worker.keys.encryptionKeyPem,
    encryptionKeySignature,
  },
};

/** A work order as Avalon's SDK and Demo.py send it: upper-case hex, "null" item keys, empty item IVs, signed. */
function avalonWorkOrder(): Json {
  const built = buildWorkOrder({
    worker: worker.keys,
    workloadId: textToHex('echo-result'),
    inData: [{ data: 'Hello world', index: 1 }, { data: 'plain', index: 0, encryption: 'plain' }],
    outData: [{ index: 0 }],
    signer: requester,
    ivMode: 'avalon',
    resultUri: 'resulturi',
    notifyUri: 'notifyuri',
  });
  const params = wireCopy(built.params) as unknown as Json & { inData: Json[] };
  for (const field of ['workOrderId', 'requesterId', 'encryptedSessionKey', 'sessionKeyIv', 'requesterNonce', 'encryptedRequestHash']) {
    params[field] = String(params[field]).toUpperCase();
  }
  params.workerEncryptionKey = upperHex(utf8(worker.keys.encryptionKeyPem));
  params.inData = params.inData.map((item) => (item.encryptedDataEncryptionKey === '' ? { ...item, encryptedDataEncryptionKey: 'null' } : item));
  return params;
}

function minimalWorkOrder(): Json {
  return {
    responseTimeoutMSecs: 6000,
    payloadFormat: 'JSON-RPC',
    workOrderId,
    workerId,
    workloadId: textToHex('echo-result'),
    requesterId: upperHex(randomBytes(32)),
    encryptedSessionKey: upperHex(randomBytes(384)),
    requesterNonce: upperHex(randomBytes(16)),
    encryptedRequestHash: upperHex(randomBytes(48)),
    inData: [{ index: 0, data: bytesToBase64(utf8('x')) }],
  };
}

interface MethodRow {
  method: MethodName;
  /** Exactly the required fields: removing any one of them must be refused. */
  minimal: Json;
  /** Every field, shaped as Avalon's clients send it. */
  full: Json;
  /** Required fields inside nested objects or arrays (paths relative to params). */
  nestedRequired?: string[];
  /** [path, value of the wrong JSON type]. */
  wrongTypes: [string, unknown][];
  /** Objects inside params (besides params itself) that also reject unknown fields. */
  nestedStrict?: string[];
}

const rows: MethodRow[] = [
  {
    method: 'WorkerRegister',
    minimal: { workerId, workerType: 1, organizationId, applicationTypeId: [], details: minimalDetails },
    full: { workerId, workerType: 1, organizationId, applicationTypeId: [applicationTypeId], details: avalonDetails },
    nestedRequired: ['details.hashingAlgorithm', 'details.workerTypeData', 'details.workerTypeData.verificationKey', 'details.workerTypeData.encryptionKeySignature'],
    wrongTypes: [['workerType', '1'], ['applicationTypeId', applicationTypeId], ['details', 'x'], ['details.workerTypeData.verificationKey', 42]],
  },
  {
    method: 'WorkerUpdate',
    minimal: { workerId, details: minimalDetails },
    full: { workerId, details: avalonDetails },
    nestedRequired: ['details.signingAlgorithm', 'details.workerTypeData.encryptionKey'],
    wrongTypes: [['workerId', 123], ['details.hashingAlgorithm', 256]],
  },
  {
    method: 'WorkerSetStatus',
    minimal: { workerId, status: 1 },
    full: { workerId, status: 4 },
    wrongTypes: [['status', '1']],
  },
  {
    method: 'WorkerLookUp',
    minimal: {},
    full: { workerType: 1, organizationId, applicationTypeId },
    wrongTypes: [['workerType', '1'], ['organizationId', 13]],
  },
  {
    method: 'WorkerLookUpNext',
    minimal: { lookUpTag: 'tag-1' },
    full: { workerType: 1, organizationId, applicationTypeId, lookUpTag: workerId },
    wrongTypes: [['lookUpTag', 5]],
  },
  {
    method: 'WorkerRetrieve',
    minimal: { workerId },
    full: { workerId: workerId.toUpperCase() },
    wrongTypes: [['workerId', 123]],
  },
  {
    method: 'WorkOrderSubmit',
    minimal: minimalWorkOrder(),
    full: avalonWorkOrder(),
    nestedRequired: ['inData[0].index', 'inData[0].data', 'outData[0].index'],
    wrongTypes: [
      ['responseTimeoutMSecs', '6000'],
      ['inData', {}],
      ['inData[0].index', '0'],
      ['inData[0].data', 7],
      ['inData[1].iv', 12],
      ['outData[0].index', null],
    ],
    nestedStrict: ['inData[0]', 'outData[0]'],
  },
  {
    method: 'WorkOrderGetResult',
    minimal: { workOrderId },
    full: { workOrderId: `0x${workOrderId}` },
    wrongTypes: [['workOrderId', 1]],
  },
  {
    method: 'WorkOrderReceiptCreate',
    minimal: {
      workOrderId,
      workerServiceId: workerId,
      workerId,
      requesterId: workerId,
      receiptCreateStatus: 0,
      workOrderRequestHash: bytesToBase64(randomBytes(32)),
      requesterGeneratedNonce: '1',
      requesterSignature: signature,
      signatureRules: 'SHA-256/SECP256K1',
      receiptVerificationKey: requester.publicKeyPem,
    },
    // Avalon's SDK: workerServiceId = workerId, a decimal random nonce, the request hash in base64.
    full: {
      workOrderId,
      workerServiceId: workerId,
      workerId,
      requesterId: upperHex(randomBytes(32)),
      receiptCreateStatus: 1,
      workOrderRequestHash: bytesToBase64(randomBytes(32)),
      requesterGeneratedNonce: '4823907715',
      requesterSignature: signature,
      signatureRules: 'SHA-256/SECP256K1',
      receiptVerificationKey: requester.publicKeyPem,
    },
    wrongTypes: [['receiptCreateStatus', '0'], ['workOrderRequestHash', 5]],
  },
  {
    method: 'WorkOrderReceiptUpdate',
    minimal: {
      workOrderId,
      updaterId,
      updateType: 0,
      updateData: '',
      updateSignature: signature,
      signatureRules: 'SHA-256/SECP256K1',
      receiptVerificationKey: requester.publicKeyPem,
    },
    // Avalon: for PROCESSED/COMPLETED, updateData is upper-case hex SHA-256 of the response JSON.
    full: {
      workOrderId,
      updaterId,
      updateType: 2,
      updateData: upperHex(sha256(utf8('{"result": {}}'))),
      updateSignature: signature,
      signatureRules: 'SHA-256/SECP256K1',
      receiptVerificationKey: requester.publicKeyPem,
    },
    wrongTypes: [['updateType', '1'], ['updateData', {}]],
  },
  {
    method: 'WorkOrderReceiptRetrieve',
    minimal: { workOrderId },
    full: { workOrderId: workOrderId.toLowerCase() },
    wrongTypes: [['workOrderId', []]],
  },
  {
    method: 'WorkOrderReceiptUpdateRetrieve',
    minimal: { workOrderId, updateIndex: 1 },
    full: { workOrderId, updaterId, updateIndex: 0xffffffff },
    wrongTypes: [['updateIndex', '1'], ['updaterId', 7]],
  },
  {
    method: 'WorkOrderReceiptLookUp',
    minimal: {},
    full: { workerServiceId: workerId, workerId, requesterId: workerId, receiptStatus: 1 },
    // Avalon's own receipt tests send workerServiceId as a number.
    wrongTypes: [['workerServiceId', 50], ['receiptStatus', '1']],
  },
  {
    method: 'WorkOrderReceiptLookUpNext',
    minimal: { lastLookUpTag: 'tag-1' },
    full: { workerServiceId: workerId, workerId, requesterId: workerId, receiptStatus: 255, lastLookUpTag: workOrderId },
    wrongTypes: [['lastLookUpTag', 90]],
  },
  {
    method: 'EncryptionKeyGet',
    minimal: { workerId },
    full: { workerId, lastUsedKeyNonce: '', tag: '', requesterId: upperHex(randomBytes(32)), signatureNonce: '', signature: '' },
    wrongTypes: [['workerId', true], ['tag', 0]],
  },
  {
    method: 'EncryptionKeySet',
    minimal: { workerId, encryptionKey: worker.keys.encryptionKeyPem, encryptionKeyNonce: 'n1', tag: '', signature },
    full: { workerId, encryptionKey: worker.keys.encryptionKeyPem, encryptionKeyNonce: upperHex(randomBytes(16)), tag: workerId, signatureNonce: upperHex(randomBytes(16)), signature },
    wrongTypes: [['encryptionKeyNonce', 1], ['signature', null]],
  },
];

// ---------------------------------------------------------------------------------------------------

function segments(path: string): string[] {
  return path.replace(/\[(\d+)\]/g, '.$1').split('.');
}

/** The parent object (or array) of `path` inside `root`, and the last segment. */
function locate(root: Json, path: string): [Record<string, unknown>, string] {
  const parts = segments(path);
  let node: unknown = root;
  for (const part of parts.slice(0, -1)) {
    node = (node as Record<string, unknown>)[part];
    assert.ok(typeof node === 'object' && node !== null, `${path}: ${part} exists in the sample`);
  }
  return [node as Record<string, unknown>, parts[parts.length - 1] as string];
}

function withChange(root: Json, path: string, change: (parent: Record<string, unknown>, key: string) => void): Json {
  const copy = wireCopy(root);
  const [parent, key] = locate(copy, path);
  change(parent, key);
  return copy;
}

/** Widened so that one call site serves every method's schema. */
function paramsSchema(method: MethodName): Schema<unknown> {
  return METHOD_PARAMS[method];
}

function refused(method: MethodName, params: Json, expectedStart: string): void {
  const outcome = validate(paramsSchema(method), params);
  assert.ok(!outcome.ok, `${method} accepted a params object that should fail at ${expectedStart}`);
  assert.ok(outcome.error instanceof TcfError);
  assert.equal(outcome.error.code, 2);
  assert.ok(outcome.error.message.startsWith(expectedStart), `"${outcome.error.message}" starts with "${expectedStart}"`);
}

describe('method params', () => {
  it('the rows cover all 16 methods of METHOD_PARAMS', () => {
    assert.equal(Object.keys(METHOD_PARAMS).length, 16);
    assert.deepEqual(rows.map((row) => row.method).sort(), Object.keys(METHOD_PARAMS).sort());
  });

  for (const row of rows) {
    describe(row.method, () => {
      it('accepts the minimal params, and each of their fields is required', () => {
        const outcome = validate(paramsSchema(row.method), wireCopy(row.minimal));
        assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
        for (const field of Object.keys(row.minimal)) {
          refused(row.method, withChange(row.minimal, field, (parent, key) => delete parent[key]), `params.${field}: is required`);
        }
      });

      it('accepts the full params as Avalon sends them, inside a JSON-RPC envelope with an integer id', () => {
        const outcome = validate(paramsSchema(row.method), wireCopy(row.full));
        assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
        const call = checkCall({ jsonrpc: '2.0', id: 11, method: row.method, params: wireCopy(row.full) });
        assert.equal(call.method, row.method);
        assert.equal(call.id, 11);
        assert.deepEqual(call.params, row.full, 'the checked params keep every field and value');
      });

      if (row.nestedRequired) {
        it('refuses a missing nested required field, naming its path', () => {
          for (const path of row.nestedRequired ?? []) {
            refused(row.method, withChange(row.full, path, (parent, key) => delete parent[key]), `params.${path}: is required`);
          }
        });
      }

      it('refuses a field of the wrong type, naming its path', () => {
        for (const [path, value] of row.wrongTypes) {
          refused(row.method, withChange(row.full, path, (parent, key) => (parent[key] = value)), `params.${path}: `);
        }
      });

      it('refuses an unknown field, naming its path', () => {
        refused(row.method, { ...wireCopy(row.full), colour: 'blue' }, 'params.colour: is not a field of this message');
        for (const path of row.nestedStrict ?? []) {
          refused(row.method, withChange(row.full, `${path}.colour`, (parent, key) => (parent[key] = 'blue')), `params.${path}.colour: is not a field of this message`);
        }
      });
    });
  }

  it('worker details and workerTypeData keep fields they do not know (the spec lets them grow)', () => {
    const details: Json = { ...wireCopy(avalonDetails), vendorExtension: { a: 1 } };
    (details.workerTypeData as Json).attestationFlavour = 'sim';
    const outcome = validate(METHOD_PARAMS.WorkerUpdate, { workerId, details });
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
    assert.deepEqual(outcome.value.details, details);
  });

  it('an unknown method and a non-2.0 envelope are envelope errors, not parameter errors', () => {
    assert.throws(() => checkCall({ jsonrpc: '2.0', id: 1, method: 'WorkerRegistryLookUp', params: {} }), (error: unknown) => error instanceof TcfError && error.code === -32601);
    // 2^64 cannot be held exactly, so it would be answered with another id than the one sent.
    assert.throws(() => checkCall({ jsonrpc: '2.0', id: 2 ** 64, method: 'WorkerLookUp', params: {} }), (error: unknown) => error instanceof TcfError && error.code === -32600 && /^id: /.test(error.message));
    assert.throws(() => checkCall({ jsonrpc: '2.0', id: 1.5, method: 'WorkerLookUp', params: {} }), (error: unknown) => error instanceof TcfError && error.code === -32600);
    assert.equal(responseId({ jsonrpc: '2.0', id: 2 ** 64, method: 'WorkerLookUp' }), null);
    assert.equal(responseId({ jsonrpc: '2.0', id: Number.MAX_SAFE_INTEGER, method: 'WorkerLookUp' }), Number.MAX_SAFE_INTEGER);
    // PostgreSQL cannot hold NUL in text or jsonb; it answered -32603 before the schema refused it.
    assert.throws(
      () => checkCall({ jsonrpc: '2.0', id: 1, method: 'WorkerLookUpNext', params: { workerType: 1, lookUpTag: 'tag\u0000' } }),
      (error: unknown) => error instanceof TcfError && error.code === 2 && /lookUpTag: must not contain the NUL character/.test(error.message),
    );
    assert.throws(() => checkCall({ jsonrpc: '1.0', id: 1, method: 'WorkerLookUp', params: {} }), (error: unknown) => error instanceof TcfError && error.code === -32600);
  });

  it('refuses two data items with the same index, since the hash and the output keys would depend on wire order', () => {
    const order: Record<string, unknown> = { ...minimalWorkOrder(), inData: [{ index: 3, data: 'AA==' }, { index: 3, data: 'AQ==' }] };
    refused('WorkOrderSubmit', order, 'params.inData[1].index: repeats 3');
    const withOutputs: Record<string, unknown> = { ...minimalWorkOrder(), outData: [{ index: 0 }, { index: 0 }] };
    refused('WorkOrderSubmit', withOutputs, 'params.outData[1].index: repeats 0');
  });

  it("accepts Avalon's 2^32 as the last-update index and its empty requesterId in EncryptionKeyGet", () => {
    assert.ok(validate(paramsSchema('WorkOrderReceiptUpdateRetrieve'), { workOrderId: 'ab', updateIndex: 2 ** 32 }).ok);
    assert.ok(validate(paramsSchema('EncryptionKeyGet'), { workerId: 'ab', requesterId: '' }).ok);
    refused('WorkOrderReceiptUpdateRetrieve', { workOrderId: 'ab', updateIndex: 2 ** 32 + 1 }, 'params.updateIndex');
  });
});
