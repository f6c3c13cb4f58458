/**
 * Property tests (fast-check): encodings, AES-GCM, the schema validators, the request hash and the
 * JSON-RPC envelope, each checked against a reference written independently here or against an
 * invariant that must hold for every input. Runs are bounded so the file takes about a second.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  base64ToBytes,
  buildWorkOrder,
  bytesToBase64,
  bytesToHex,
  checkCall,
  CryptoError,
  dataItemsHash,
  DEFAULT_WORKER_POLICY,
  EncodingError,
  generateSigningKey,
  hexToBytes,
  isBase64,
  isHex,
  METHOD_PARAMS,
  openWorkOrder,
  TcfError,
  textToHex,
  validate,
  workOrderRequestHash,
  WorkOrderSubmitParams,
  type HashableItem,
  type InputItem,
  type OutputRequest,
  type RequestHashFields,
} from '../../src/index.js';
import { makeWorker, wireCopy } from './fixtures.js';

const RUNS = { numRuns: 200 };
/** Properties that do RSA work per run. */
const RSA_RUNS = { numRuns: 100 };

const worker = makeWorker();
const requester = generateSigningKey();

// ---------------------------------------------------------------------------------------------------
// Encodings

/** Independent definitions of the accepted forms (not the ones encoding.ts uses). */
const REFERENCE_HEX = /^(?:0[xX])?(?:[0-9a-fA-F]{2})*$/;
function referenceIsBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

/** Strings over the characters where hex and base64 parsers tend to go wrong. */
const trickyText = (alphabet: string) => fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 24 });
const HEXISH = '0123456789abcdefABCDEFxXgG -';
const BASE64ISH = 'AZaz09+/=-_ .Q';

function throwsEncodingError(action: () => unknown): boolean {
  try {
    action();
  } catch (error) {
    return error instanceof EncodingError;
  }
  return false;
}

describe('hex encoding', () => {
  it('round-trips any bytes, in either case and with a 0x prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const hex = bytesToHex(bytes);
        assert.equal(hex, hex.toLowerCase());
        assert.equal(hex.length, bytes.length * 2);
        for (const spelling of [hex, hex.toUpperCase(), `0x${hex}`, `0X${hex.toUpperCase()}`]) {
          assert.deepEqual(hexToBytes(spelling), Buffer.from(bytes));
        }
      }),
      RUNS,
    );
  });

  it('isHex agrees with a reference regex, and hexToBytes throws EncodingError exactly when isHex is false', () => {
    fc.assert(
      fc.property(fc.oneof(trickyText(HEXISH), fc.string({ maxLength: 12 })), (text) => {
        const expected = REFERENCE_HEX.test(text);
        assert.equal(isHex(text), expected);
        assert.equal(throwsEncodingError(() => hexToBytes(text)), !expected);
      }),
      RUNS,
    );
  });

  it('rejects odd length and non-hex characters with EncodingError', () => {
    // Not 'x' among the bad characters: "0" then "x" is a legitimate 0x prefix.
    const badCharacter = fc.constantFrom('g', ' ', 'z', '-', 'é');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), badCharacter, fc.nat(), (bytes, bad, where) => {
        const hex = bytesToHex(bytes);
        assert.ok(throwsEncodingError(() => hexToBytes(hex.slice(1))), 'odd length');
        const position = where % hex.length;
        assert.ok(throwsEncodingError(() => hexToBytes(hex.slice(0, position) + bad + hex.slice(position + 1))), 'bad character');
      }),
      RUNS,
    );
  });
});

describe('base64 encoding', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        const text = bytesToBase64(bytes);
        assert.ok(isBase64(text));
        assert.deepEqual(base64ToBytes(text), Buffer.from(bytes));
      }),
      RUNS,
    );
  });

  it('isBase64 agrees with a reference definition, and base64ToBytes throws EncodingError exactly when it is false', () => {
    const valid = fc.uint8Array({ maxLength: 16 }).map((bytes) => bytesToBase64(bytes));
    fc.assert(
      fc.property(fc.oneof(trickyText(BASE64ISH), valid, fc.string({ maxLength: 12 })), (text) => {
        const expected = referenceIsBase64(text);
        assert.equal(isBase64(text), expected);
        assert.equal(throwsEncodingError(() => base64ToBytes(text)), !expected);
      }),
      RUNS,
    );
  });

  it('rejects missing or extra padding and URL-safe or stray characters with EncodingError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.constantFrom('-', '_', ' ', '*', '\n'), fc.nat(), (bytes, bad, where) => {
        const text = bytesToBase64(bytes);
        const unpadded = text.replace(/=+$/, '');
        if (unpadded !== text) assert.ok(throwsEncodingError(() => base64ToBytes(unpadded)), 'padding stripped');
        assert.ok(throwsEncodingError(() => base64ToBytes(`${text}=`)), 'extra padding');
        assert.ok(throwsEncodingError(() => base64ToBytes(text.slice(1))), 'length not a multiple of 4');
        const position = where % unpadded.length;
        assert.ok(throwsEncodingError(() => base64ToBytes(text.slice(0, position) + bad + text.slice(position + 1))), 'bad character');
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// AES-256-GCM

const aesKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
const aesIv = fc.uint8Array({ minLength: 12, maxLength: 12 });

describe('AES-256-GCM', () => {
  it('decrypt inverts encrypt for any plaintext; the output is ciphertext plus a 16-byte tag', () => {
    fc.assert(
      fc.property(aesKey, aesIv, fc.uint8Array({ maxLength: 512 }), (key, iv, plaintext) => {
        const sealed = aesGcmEncrypt(key, iv, plaintext);
        assert.equal(sealed.length, plaintext.length + 16);
        assert.deepEqual(aesGcmDecrypt(key, iv, sealed), Buffer.from(plaintext));
      }),
      RUNS,
    );
  });

  it('any single-bit flip of ciphertext, tag or IV is rejected with CryptoError', () => {
    fc.assert(
      fc.property(aesKey, aesIv, fc.uint8Array({ maxLength: 64 }), fc.nat(), (key, iv, plaintext, bitSeed) => {
        const sealed = aesGcmEncrypt(key, iv, plaintext);
        const bit = bitSeed % ((sealed.length + iv.length) * 8);
        const byte = Math.floor(bit / 8);
        const mask = 1 << bit % 8;
        const flippedSealed = Buffer.from(sealed);
        const flippedIv = Buffer.from(iv);
        if (byte < sealed.length) flippedSealed[byte] = (flippedSealed[byte] as number) ^ mask;
        else flippedIv[byte - sealed.length] = (flippedIv[byte - sealed.length] as number) ^ mask;
        assert.throws(() => aesGcmDecrypt(key, flippedIv, flippedSealed), CryptoError);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Schema validation and JSON-RPC envelope

/** Either "params: …" for a value that is not an object, or "params.<path>: …" inside one. */
function assertParamsError(value: unknown, error: TcfError): void {
  assert.equal(error.code, 2);
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  assert.ok(error.message.startsWith(isObject ? 'params.' : 'params: '), error.message);
}

/** One genuine request on the wire, copied fresh for each use. */
const genuineRequest = wireCopy(
  buildWorkOrder({
    worker: worker.keys,
    workloadId: textToHex('echo-result'),
    inData: [{ data: 'x' }],
    outData: [{ index: 0 }],
    signer: requester,
    resultUri: 'http://r',
    notifyUri: 'http://n',
  }).params,
) as unknown as Record<string, unknown>;

/** The genuine request with one field (top-level or of inData[0]) replaced by an arbitrary JSON value: errors then come from deep inside. */
const nearlyValidRequest = fc
  .record({
    field: fc.constantFrom(...Object.keys(genuineRequest)),
    itemField: fc.option(fc.constantFrom('index', 'data', 'dataHash', 'encryptedDataEncryptionKey', 'iv', 'unknownField')),
    value: fc.jsonValue({ maxDepth: 2 }),
  })
  .map(({ field, itemField, value }) => {
    const params = wireCopy(genuineRequest) as Record<string, unknown> & { inData: Record<string, unknown>[] };
    if (itemField === null) params[field] = value;
    else (params.inData[0] as Record<string, unknown>)[itemField] = value;
    return params;
  });

describe('schema validators', () => {
  it('validate(WorkOrderSubmitParams, v) never throws on arbitrary JSON: ok, or code 2 naming a params path', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), nearlyValidRequest), (value) => {
        const outcome = validate(WorkOrderSubmitParams, value);
        if (!outcome.ok) assertParamsError(value, outcome.error);
      }),
      RUNS,
    );
  });

  it('checkCall throws nothing but TcfError, with an envelope or a spec code, for arbitrary input', () => {
    const methods = [...Object.keys(METHOD_PARAMS), 'NoSuchMethod', 'toString', '__proto__'];
    const envelope = fc.record(
      {
        jsonrpc: fc.oneof(fc.constant('2.0'), fc.anything()),
        id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.anything()),
        method: fc.oneof(fc.constantFrom(...methods), fc.anything()),
        params: fc.oneof(fc.constant({}), fc.anything(), nearlyValidRequest),
        extra: fc.anything(),
      },
      { requiredKeys: ['jsonrpc', 'method'] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), envelope), (request) => {
        try {
          const call = checkCall(request);
          assert.ok(Object.hasOwn(METHOD_PARAMS, call.method));
        } catch (error) {
          assert.ok(error instanceof TcfError, `only TcfError escapes, got ${String(error)}`);
          assert.ok([-32600, -32601, 2].includes(error.code), `code ${error.code}`);
        }
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Work orders built by the requester

const encryption = fc.constantFrom('session' as const, 'plain' as const, 'item-key' as const);
const workOrderOptions = fc
  .record({
    items: fc.array(fc.record({ data: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 40 })), encryption, includeDataHash: fc.boolean() }), { maxLength: 5 }),
    indexes: fc.uniqueArray(fc.nat({ max: 10_000 }), { minLength: 5, maxLength: 5 }),
    outputs: fc.uniqueArray(fc.record({ index: fc.nat({ max: 10_000 }), encryption }), { selector: (output) => output.index, maxLength: 3 }),
    signed: fc.boolean(),
    ivMode: fc.constantFrom('per-item' as const, 'avalon' as const),
    requesterNonce: fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 }).map(bytesToHex), { nil: undefined }),
  })
  .map(({ items, indexes, outputs, signed, ivMode, requesterNonce }) => {
    const inData: InputItem[] = items.map((input, position) => ({ ...input, index: indexes[position] as number }));
    const outData: OutputRequest[] = outputs;
    return { inData, outData, signed, ivMode, requesterNonce };
  });

describe('work orders built by buildWorkOrder', () => {
  it('pass WorkOrderSubmitParams, keep their request hash across JSON, and open at the worker to the same inputs', () => {
    fc.assert(
      fc.property(workOrderOptions, ({ inData, outData, signed, ivMode, requesterNonce }) => {
        const built = buildWorkOrder({
          worker: worker.keys,
          workloadId: textToHex('echo-result'),
          inData,
          ...(outData.length > 0 ? { outData } : {}),
          ...(signed ? { signer: requester } : {}),
          ...(requesterNonce ? { requesterNonce } : {}),
          ivMode,
        });
        const wire = wireCopy(built.params);
        const checked = validate(WorkOrderSubmitParams, wire);
        assert.ok(checked.ok, checked.ok ? '' : checked.error.message);
        assert.deepEqual(workOrderRequestHash(checked.value), built.secrets.requestHash);

        const opened = openWorkOrder(checked.value, worker.secrets, { ...DEFAULT_WORKER_POLICY, ivMode });
        assert.deepEqual(opened.requestHash, built.secrets.requestHash);
        const expected = inData.map((input) => ({ index: input.index, data: typeof input.data === 'string' ? Buffer.from(input.data, 'utf8') : Buffer.from(input.data) }));
        assert.deepEqual(opened.inputs, expected);
      }),
      RSA_RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The request hash recipe

/**
 * Well-formed strings only: UTF-8 encoding maps every lone surrogate to U+FFFD, so two ill-formed
 * strings can hash alike. The hashed fields of a checked request are hex or base64, where that
 * cannot happen.
 */
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const hashableItem = (index: number) =>
  fc.record(
    { index: fc.constant(index), data: text, dataHash: text, encryptedDataEncryptionKey: text, iv: text },
    { requiredKeys: ['index'] },
  );
const hashableItems = fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 6 }).chain((indexes) => fc.tuple(...indexes.map(hashableItem)));
const requestFields = fc.record({
  requesterNonce: text,
  workOrderId: text,
  workerId: text,
  workloadId: text,
  requesterId: text,
  inData: hashableItems,
  outData: hashableItems,
});

function shuffled<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  return fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
}

const HEADER_FIELDS = ['requesterNonce', 'workOrderId', 'workerId', 'workloadId', 'requesterId'] as const;
const ITEM_FIELDS = ['data', 'dataHash', 'encryptedDataEncryptionKey', 'iv'] as const;

describe('request hash', () => {
  it('hashes data items as the UTF-8 bytes of their fields joined in index order', () => {
    const text = fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined });
    const items = fc.array(fc.record({ index: fc.nat({ max: 20 }), dataHash: text, data: text, encryptedDataEncryptionKey: text, iv: text }), { maxLength: 6 });
    fc.assert(
      fc.property(items, (list) => {
        const joined = [...list]
          .sort((a, b) => a.index - b.index)
          .map((item) => `${item.dataHash ?? ''}${item.data ?? ''}${item.encryptedDataEncryptionKey ?? ''}${item.iv ?? ''}`)
          .join('');
        assert.deepEqual(dataItemsHash(list), crypto.createHash('sha256').update(Buffer.from(joined, 'utf8')).digest());
      }),
      RUNS,
    );
  });

  it('is invariant under any order of inData and outData (items are sorted by index)', () => {
    const withPermutations = requestFields.chain((fields) => fc.tuple(fc.constant(fields), shuffled(fields.inData), shuffled(fields.outData)));
    fc.assert(
      fc.property(withPermutations, ([fields, inData, outData]) => {
        assert.deepEqual(workOrderRequestHash({ ...fields, inData, outData }), workOrderRequestHash(fields));
      }),
      RUNS,
    );
  });

  it('does not hash index values themselves, only the order they give', () => {
    fc.assert(
      fc.property(requestFields, fc.integer({ min: 1, max: 1000 }), (fields, shift) => {
        const renumber = (items: readonly HashableItem[]) => items.map((item) => ({ ...item, index: item.index * 2 + shift }));
        assert.deepEqual(workOrderRequestHash({ ...fields, inData: renumber(fields.inData), outData: renumber(fields.outData) }), workOrderRequestHash(fields));
      }),
      RUNS,
    );
  });

  it('treats an absent, null or empty item field alike', () => {
    fc.assert(
      fc.property(requestFields, fc.constantFrom(...ITEM_FIELDS), fc.constantFrom(null, undefined), (fields, field, absent) => {
        const blank = (items: readonly HashableItem[], value: '' | null | undefined) =>
          items.map((item) => {
            const copy: HashableItem = { ...item };
            if (value === undefined) delete copy[field];
            else copy[field] = value;
            return copy;
          });
        const withEmpty: RequestHashFields = { ...fields, inData: blank(fields.inData, ''), outData: blank(fields.outData, '') };
        const withAbsent: RequestHashFields = { ...fields, inData: blank(fields.inData, absent), outData: blank(fields.outData, absent) };
        assert.deepEqual(workOrderRequestHash(withAbsent), workOrderRequestHash(withEmpty));
      }),
      RUNS,
    );
  });

  it('changes when any one hashed field changes', () => {
    const change = fc.record({
      where: fc.constantFrom('header' as const, 'inData' as const, 'outData' as const),
      header: fc.constantFrom(...HEADER_FIELDS),
      itemField: fc.constantFrom(...ITEM_FIELDS),
      position: fc.nat(),
      suffix: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(requestFields, change, (fields, { where, header, itemField, position, suffix }) => {
        const before = workOrderRequestHash(fields);
        const changed: RequestHashFields = { ...fields, inData: fields.inData.map((item) => ({ ...item })), outData: fields.outData.map((item) => ({ ...item })) };
        if (where === 'header') {
          changed[header] += suffix;
        } else {
          const items = changed[where] as HashableItem[];
          if (items.length === 0) {
            // A first inData item changes H(inData); a first outData item adds H(outData) to the hash.
            items.push({ index: 0, [itemField]: suffix });
          } else {
            const target = items[position % items.length] as HashableItem;
            target[itemField] = (target[itemField] ?? '') + suffix;
          }
        }
        assert.notDeepEqual(workOrderRequestHash(changed), before);
      }),
      RUNS,
    );
  });
});
