/**
 * Writes test/hostile/corpus.json: malformed and malicious JSON-RPC calls with the answer each must
 * get. Regenerate with `node --import tsx scripts/make-hostile-corpus.ts` after a wire-format change;
 * the file is checked in so that a change in what the node answers shows up in review.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HostileCase {
  name: string;
  /**
   * The raw HTTP body (UTF-8), or base64 of raw bytes when bodyBase64 is set. Long runs are written
   * ⟦count×unit⟧ to keep the file small; expandBody() restores them.
   */
  body: string;
  bodyBase64?: boolean;
  expectCode: number;
  /** A regular expression the error message must match. */
  expectMessage: string;
  expectHttpStatus?: number;
}

const HEX64 = (digit: string) => digit.repeat(64);
const RUN = /⟦(\d+)×([^⟧]{1,2})⟧/g;

/** Writes runs of one or two repeated characters longer than 64 as ⟦count×unit⟧. */
function compress(body: string): string {
  let out = '';
  let position = 0;
  while (position < body.length) {
    let written = false;
    for (const width of [1, 2]) {
      const unit = body.slice(position, position + width);
      if (unit.length < width || unit.includes('⟧')) continue;
      let count = 1;
      while (body.startsWith(unit, position + count * width)) count += 1;
      if (count >= 64) {
        out += `⟦${count}×${unit}⟧`;
        position += count * width;
        written = true;
        break;
      }
    }
    if (!written) {
      out += body[position];
      position += 1;
    }
  }
  return out;
}

export function expandBody(body: string): string {
  return body.replace(RUN, (_marker, count: string, unit: string) => unit.repeat(Number(count)));
}
/** Work orders in the corpus use ids starting with dead…, so the test can prove none was stored. */
const CORPUS_WORK_ORDER_ID = 'dead' + HEX64('0').slice(4);
const PEM = '-----BEGIN PUBLIC KEY-----\nMFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAE\n-----END PUBLIC KEY-----\n';

const VALID_PARAMS: Record<string, Record<string, unknown>> = {
  WorkerRetrieve: { workerId: HEX64('a') },
  WorkerLookUpNext: { workerType: 1, lookUpTag: 'x' },
  WorkerSetStatus: { workerId: HEX64('a'), status: 1 },
  WorkOrderSubmit: {
    responseTimeoutMSecs: 0,
    payloadFormat: 'JSON-RPC',
    workOrderId: CORPUS_WORK_ORDER_ID,
    workerId: HEX64('a'),
    workloadId: '6563686f2d726573756c74',
    requesterId: HEX64('b'),
    encryptedSessionKey: 'abcd',
    sessionKeyIv: '00'.repeat(12),
    requesterNonce: '0011',
    encryptedRequestHash: 'abcd',
    inData: [{ index: 0, data: 'SGVsbG8=', iv: '11'.repeat(12) }],
  },
  WorkOrderGetResult: { workOrderId: CORPUS_WORK_ORDER_ID },
  WorkOrderReceiptCreate: {
    workOrderId: CORPUS_WORK_ORDER_ID,
    workerServiceId: HEX64('a'),
    workerId: HEX64('a'),
    requesterId: HEX64('b'),
    receiptCreateStatus: 0,
    workOrderRequestHash: 'AAAA',
    requesterGeneratedNonce: '1',
    requesterSignature: 'AAAA',
    signatureRules: 'SHA-256/SECP256K1',
    receiptVerificationKey: PEM,
  },
  WorkOrderReceiptUpdate: {
    workOrderId: CORPUS_WORK_ORDER_ID,
    updaterId: HEX64('b'),
    updateType: 1,
    updateData: 'x',
    updateSignature: 'AAAA',
    signatureRules: 'SHA-256/SECP256K1',
    receiptVerificationKey: PEM,
  },
  WorkOrderReceiptRetrieve: { workOrderId: CORPUS_WORK_ORDER_ID },
  WorkOrderReceiptUpdateRetrieve: { workOrderId: CORPUS_WORK_ORDER_ID, updateIndex: 1 },
  WorkOrderReceiptLookUpNext: { requesterId: HEX64('b'), lastLookUpTag: 'x' },
  EncryptionKeyGet: { workerId: HEX64('a') },
  EncryptionKeySet: { workerId: HEX64('a'), encryptionKey: PEM, encryptionKeyNonce: 'n', tag: '', signature: 'AAAA' },
};

/** Fields the spec makes optional: leaving them out is no error. */
const OPTIONAL = new Set(['WorkerLookUpNext.workerType', 'WorkOrderSubmit.sessionKeyIv', 'WorkOrderReceiptLookUpNext.requesterId']);

/** Wrong-typed stand-ins for a field of each JSON type. */
function wrongValues(value: unknown): [string, unknown][] {
  const all: [string, unknown][] = [
    ['a number', 12345],
    ['a string', 'not-the-right-thing'],
    ['null', null],
    ['an array', [1, 2]],
    ['an object', { nested: true }],
    ['a boolean', true],
  ];
  return all.filter(([, candidate]) => typeof candidate !== typeof value || Array.isArray(candidate) !== Array.isArray(value));
}

function call(method: string, params: unknown, id: unknown = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, params });
}

export function buildCorpus(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (entry: HostileCase) => cases.push(entry);

  for (const [method, params] of Object.entries(VALID_PARAMS)) {
    for (const field of Object.keys(params)) {
      const missing = { ...params };
      delete missing[field];
      if (!OPTIONAL.has(`${method}.${field}`)) {
        add({ name: `${method}: ${field} missing`, body: call(method, missing), expectCode: 2, expectMessage: `^params\\.${field}: is required` });
      }
      for (const [label, wrong] of wrongValues(params[field])) {
        if (method === 'WorkOrderSubmit' && field === 'inData' && label === 'an array') continue;
        add({ name: `${method}: ${field} is ${label}`, body: call(method, { ...params, [field]: wrong }), expectCode: 2, expectMessage: `^params\\.${field}` });
      }
    }
    add({ name: `${method}: unknown field`, body: call(method, { ...params, smuggled: 'x' }), expectCode: 2, expectMessage: '^params\\.smuggled: is not a field' });
    add({ name: `${method}: params is an array`, body: call(method, [params]), expectCode: 2, expectMessage: '^params: expected an object' });
  }

  const submit = VALID_PARAMS.WorkOrderSubmit!;
  const item = (submit.inData as Record<string, unknown>[])[0]!;
  const withItem = (change: Record<string, unknown>) => call('WorkOrderSubmit', { ...submit, inData: [{ ...item, ...change }] });
  const itemCases: [string, Record<string, unknown>, string][] = [
    ['item index negative', { index: -1 }, 'index'],
    ['item index fractional', { index: 1.5 }, 'index'],
    ['item index beyond 2^32', { index: 2 ** 33 }, 'index'],
    ['item data not a string', { data: 42 }, 'data'],
    ['item iv odd-length hex', { iv: 'abc' }, 'iv'],
    ['item iv not hex', { iv: 'zz'.repeat(12) }, 'iv'],
    ['item dataHash not hex', { dataHash: 'not hex!' }, 'dataHash'],
    ['item key neither "-", null nor hex', { encryptedDataEncryptionKey: 'key!' }, 'encryptedDataEncryptionKey'],
    ['item with an unknown field', { extra: 1 }, 'extra'],
  ];
  for (const [name, change, field] of itemCases) {
    add({ name: `WorkOrderSubmit: ${name}`, body: withItem(change), expectCode: 2, expectMessage: `^params\\.inData\\[0\\]\\.${field}` });
  }
  add({ name: 'WorkOrderSubmit: repeated item index', body: call('WorkOrderSubmit', { ...submit, inData: [item, item] }), expectCode: 2, expectMessage: '^params\\.inData\\[1\\]\\.index: repeats' });
  add({ name: 'WorkOrderSubmit: 1025 items', body: call('WorkOrderSubmit', { ...submit, inData: Array.from({ length: 1025 }, (_, index) => ({ ...item, index })) }), expectCode: 2, expectMessage: '^params\\.inData: must have at most 1024 items' });
  add({ name: 'WorkOrderSubmit: item is a string', body: call('WorkOrderSubmit', { ...submit, inData: ['x'] }), expectCode: 2, expectMessage: '^params\\.inData\\[0\\]: expected an object' });

  const stringCases: [string, string, unknown, string][] = [
    ['workOrderId of 10 000 hex digits', 'workOrderId', 'a'.repeat(10_000), 'at most 256'],
    ['workOrderId empty', 'workOrderId', '', 'must not be empty|hex'],
    ['workOrderId with 0x only', 'workOrderId', '0x', 'hex'],
    ['workerId with spaces', 'workerId', 'ab cd', 'hex'],
    ['workerId with a NUL byte', 'workerId', 'ab\u0000cd', 'hex'],
    ['requesterNonce with unicode', 'requesterNonce', 'abc\u00e9', 'hex'],
    ['encryptedSessionKey odd length', 'encryptedSessionKey', 'abc', 'even-length hex'],
    ['encryptedSessionKey of 1 MB', 'encryptedSessionKey', 'ab'.repeat(500_000), 'at most'],
    ['encryptedRequestHash not hex', 'encryptedRequestHash', 'xyz1', 'hex'],
    ['sessionKeyIv not hex', 'sessionKeyIv', 'gg'.repeat(12), 'hex'],
    ['requesterSignature not base64', 'requesterSignature', '***', 'base64'],
    ['requesterSignature unpadded base64', 'requesterSignature', 'AAA', 'base64'],
    ['payloadFormat unknown', 'payloadFormat', 'XML', 'one of'],
    ['dataEncryptionAlgorithm unknown', 'dataEncryptionAlgorithm', 'AES-CBC', 'one of'],
    ['responseTimeoutMSecs negative', 'responseTimeoutMSecs', -1, 'between'],
    ['responseTimeoutMSecs NaN-like string', 'responseTimeoutMSecs', 'NaN', 'integer'],
    ['responseTimeoutMSecs huge', 'responseTimeoutMSecs', 1e300, 'integer|between'],
    ['verifyingKey of 100 000 characters', 'verifyingKey', 'k'.repeat(100_000), 'at most'],
    ['notifyUri of 10 000 characters', 'notifyUri', 'http://x/' + 'a'.repeat(10_000), 'at most'],
  ];
  for (const [name, field, value, message] of stringCases) {
    add({ name: `WorkOrderSubmit: ${name}`, body: call('WorkOrderSubmit', { ...submit, [field]: value }), expectCode: 2, expectMessage: `^params\\.${field}: .*(${message})` });
  }

  let deep: unknown = 'bottom';
  for (let depth = 0; depth < 2000; depth += 1) deep = [deep];
  add({ name: 'WorkOrderSubmit: inData nested 2000 deep', body: call('WorkOrderSubmit', { ...submit, inData: deep }), expectCode: 2, expectMessage: '^params\\.inData\\[0\\]' });
  add({ name: 'JSON nested 100 000 deep (a batch whose one call is an array)', body: '['.repeat(100_000) + ']'.repeat(100_000), expectCode: -32600, expectMessage: 'must be an object' });
  add({ name: 'WorkerLookUp: workerType 0', body: call('WorkerLookUp', { workerType: 0 }), expectCode: 2, expectMessage: '^params\\.workerType: must be between 1 and 3' });
  add({ name: 'WorkerLookUp: workerType 4', body: call('WorkerLookUp', { workerType: 4 }), expectCode: 2, expectMessage: '^params\\.workerType' });
  add({ name: 'WorkerLookUp: organizationId not hex', body: call('WorkerLookUp', { organizationId: 'org' }), expectCode: 2, expectMessage: '^params\\.organizationId' });
  add({ name: 'WorkOrderReceiptUpdateRetrieve: index past 2^32', body: call('WorkOrderReceiptUpdateRetrieve', { workOrderId: CORPUS_WORK_ORDER_ID, updateIndex: 2 ** 32 + 1 }), expectCode: 2, expectMessage: '^params\\.updateIndex' });
  add({ name: 'id of 2^64 (not exactly representable: it would be echoed changed)', body: '{"jsonrpc":"2.0","id":18446744073709551616,"method":"WorkerLookUp","params":{}}', expectCode: -32600, expectMessage: '^id: must be a string, an integer' });
  // PostgreSQL cannot store NUL in text or jsonb: every string field refuses it with code 2, whatever the store.
  add({ name: 'WorkerLookUpNext: lookUpTag with a NUL byte', body: call('WorkerLookUpNext', { workerType: 1, lookUpTag: 'tag\u0000' }), expectCode: 2, expectMessage: '^params\\.lookUpTag: must not contain the NUL character' });
  add({ name: 'WorkOrderSubmit: notifyUri with a NUL byte', body: call('WorkOrderSubmit', { ...submit, notifyUri: 'http://127.0.0.1/\u0000' }), expectCode: 2, expectMessage: '^params\\.notifyUri: must not contain the NUL character' });
  add({ name: 'WorkerSetStatus: anonymous caller', body: call('WorkerSetStatus', { workerId: HEX64('a'), status: 4 }), expectCode: 3, expectMessage: 'operator method' });
  add({ name: 'WorkerRegister: anonymous caller', body: call('WorkerRegister', { workerId: HEX64('a'), workerType: 1, organizationId: 'aa', applicationTypeId: [], details: { hashingAlgorithm: 'SHA-256', signingAlgorithm: 'SECP256K1', keyEncryptionAlgorithm: 'RSA-OAEP-3072', dataEncryptionAlgorithm: 'AES-GCM-256', workerTypeData: { verificationKey: PEM, encryptionKey: PEM, encryptionKeySignature: '00' } } }), expectCode: 3, expectMessage: 'operator method' });
  add({ name: 'WorkOrderSubmit: unknown worker', body: call('WorkOrderSubmit', submit), expectCode: 2, expectMessage: '^params\\.workerId: worker .* does not exist' });
  add({ name: 'WorkOrderGetResult: unknown work order', body: call('WorkOrderGetResult', { workOrderId: CORPUS_WORK_ORDER_ID }), expectCode: 2, expectMessage: 'does not exist' });
  add({ name: 'EncryptionKeySet without the operator token', body: call('EncryptionKeySet', VALID_PARAMS.EncryptionKeySet), expectCode: 3, expectMessage: 'is an operator method' });

  const envelope: [string, string, number, string][] = [
    ['empty body', '', -32700, 'not valid UTF-8 JSON'],
    ['truncated JSON', '{"jsonrpc":"2.0","id":1,"method":"WorkerLookUp"', -32700, 'not valid'],
    ['a bare number', '42', -32600, 'must be an object'],
    ['a bare string', '"WorkerLookUp"', -32600, 'must be an object'],
    ['null', 'null', -32600, 'must be an object'],
    ['empty batch', '[]', -32600, 'batch holds'],
    ['batch of 101 calls', JSON.stringify(Array.from({ length: 101 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'WorkerLookUp', params: {} }))), -32600, 'batch holds'],
    ['jsonrpc 1.0', JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'WorkerLookUp', params: {} }), -32600, '^jsonrpc'],
    ['jsonrpc missing', JSON.stringify({ id: 1, method: 'WorkerLookUp', params: {} }), -32600, '^jsonrpc'],
    ['method missing', JSON.stringify({ jsonrpc: '2.0', id: 1, params: {} }), -32600, '^method'],
    ['method a number', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 7 }), -32600, '^method'],
    ['unknown method', call('DropAllTables', {}), -32601, 'is not a method'],
    ['method __proto__', call('__proto__', {}), -32601, 'is not a method'],
    ['method constructor', call('constructor', {}), -32601, 'is not a method'],
    ['method toString', call('toString', {}), -32601, 'is not a method'],
    ['method name of 100 000 characters', call('W'.repeat(100_000), {}), -32601, 'is not a method'],
    ['id an object', JSON.stringify({ jsonrpc: '2.0', id: { a: 1 }, method: 'WorkerLookUp', params: {} }), -32600, '^id'],
    ['id an array', JSON.stringify({ jsonrpc: '2.0', id: [1], method: 'WorkerLookUp', params: {} }), -32600, '^id'],
    ['extra envelope field', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'WorkerLookUp', params: {}, admin: true }), -32600, '^admin'],
    ['__proto__ in params', '{"jsonrpc":"2.0","id":1,"method":"WorkerRetrieve","params":{"workerId":"aa","__proto__":{"polluted":true}}}', 2, '^params\\.__proto__: is not a field'],
    ['duplicate keys in params', '{"jsonrpc":"2.0","id":1,"method":"WorkerRetrieve","params":{"workerId":"zz","workerId":"yy"}}', 2, '^params\\.workerId'],
    ['params a string', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'WorkerRetrieve', params: 'workerId=aa' }), 2, '^params: expected an object'],
  ];
  for (const [name, body, code, message] of envelope) add({ name: `envelope: ${name}`, body, expectCode: code, expectMessage: message });

  const invalidUtf8 = [
    Buffer.from([0x7b, 0xff, 0x7d]),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('{"jsonrpc":"2.0","id":1,"method":"WorkerRetrieve","params":{"workerId":"\u0000"}}'.replace('\u0000', '\u00ff'), 'latin1'),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  ];
  invalidUtf8.forEach((bytes, index) => add({ name: `non-UTF-8 body ${index + 1}`, body: bytes.toString('base64'), bodyBase64: true, expectCode: -32700, expectMessage: 'not valid UTF-8 JSON' }));
  add({ name: 'body over the size limit', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'WorkerLookUp', params: { pad: 'x'.repeat(9 * 1024 * 1024) } }), expectCode: -32600, expectMessage: 'exceeds', expectHttpStatus: 413 });
  return cases;
}

const here = path.dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.join(here, '..', 'test', 'hostile', 'corpus.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const corpus = buildCorpus().map((entry) => {
    const body = entry.bodyBase64 ? entry.body : compress(entry.body);
    if (expandBody(body) !== entry.body) throw new Error(`${entry.name}: compression does not round-trip`);
    return { ...entry, body };
  });
  fs.writeFileSync(file, JSON.stringify(corpus, null, 1) + '\n');
  process.stdout.write(`${corpus.length} hostile calls written to ${path.relative(process.cwd(), file)}\n`);
}
