/**
 * End to end through the pure work-order halves: requester builds, worker opens, runs an echo
 * workload and seals, requester verifies and decrypts. Every expected output is computed from the
 * inputs (upper-casing), never pasted in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aesGcmDecrypt,
  base64ToBytes,
  buildWorkOrder,
  generateSigningKey,
  hexToBytes,
  isHex,
  openWorkOrderResult,
  plaintextHash,
  requesterIdForKey,
  textToHex,
  validate,
  WorkOrderSubmitParams,
  DEFAULT_WORKER_POLICY,
  TcfError,
  type BuildWorkOrderOptions,
  type InputItem,
  type WorkerPolicy,
} from '../../src/index.js';
import { makeWorker, runWorker, wireCopy, type TestWorker } from './fixtures.js';

const worker = makeWorker();
const requester = generateSigningKey();
const workloadId = textToHex('echo-result');
const AVALON_POLICY: WorkerPolicy = { ...DEFAULT_WORKER_POLICY, ivMode: 'avalon' };

function upper(text: string): string {
  return text.toUpperCase();
}

/** Builds, sends over a JSON wire, runs, answers over the wire and opens: the whole trip. */
function roundTrip(options: Omit<BuildWorkOrderOptions, 'worker' | 'workloadId'>, policy?: WorkerPolicy, target: TestWorker = worker) {
  const built = buildWorkOrder({ worker: target.keys, workloadId, ...options });
  const checked = validate(WorkOrderSubmitParams, wireCopy(built.params));
  assert.ok(checked.ok, checked.ok ? '' : checked.error.message);
  const run = runWorker(checked.value, target, policy);
  const opened = openWorkOrderResult(wireCopy(run.result), built, target.keys);
  return { built, run, opened };
}

function texts(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `item ${i}: héllo wörld ${'x'.repeat(i)}`);
}

describe('work order round trip', () => {
  for (const count of [0, 1, 17]) {
    for (const signed of [false, true]) {
      it(`${count} inData item(s), ${signed ? 'signed' : 'unsigned'}`, () => {
        const inputs = texts(count);
        const { built, run, opened } = roundTrip({ inData: inputs.map((data) => ({ data })), ...(signed ? { signer: requester } : {}) });

        assert.deepEqual(run.opened.inputs.map((input) => input.data.toString('utf8')), inputs, 'the worker sees the plaintexts');
        assert.deepEqual(opened.outData.map((output) => output.index), inputs.map((_, i) => i));
        assert.deepEqual(opened.outData.map((output) => output.data.toString('utf8')), inputs.map(upper));
        assert.equal(opened.result.outData.length, count);

        if (signed) {
          assert.equal(built.params.requesterId, requesterIdForKey(requester.publicKey));
          assert.equal(built.params.verifyingKey, requester.publicKeyPem);
          assert.ok(built.params.requesterSignature);
        } else {
          assert.equal(built.params.requesterSignature, undefined);
          assert.equal(built.params.verifyingKey, undefined);
          assert.ok(isHex(built.params.requesterId) && built.params.requesterId.length === 64, 'a random 32-byte hex requesterId');
        }
      });
    }
  }

  it('binary (non-UTF-8) input survives the trip byte for byte', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const built = buildWorkOrder({ worker: worker.keys, workloadId, inData: [{ data: bytes }] });
    const run = runWorker(wireCopy(built.params), worker);
    assert.deepEqual(run.opened.inputs[0]?.data, Buffer.from(bytes));
  });

  it('an explicit requesterId is kept for a signed order when the worker does not bind keys', () => {
    const { built } = roundTrip({ inData: [{ data: 'a' }], signer: requester, requesterId: 'abcdef01' }, { ...DEFAULT_WORKER_POLICY, requesterKeyBinding: 'unbound' });
    assert.equal(built.params.requesterId, 'abcdef01');
  });

  describe('inData item keys', () => {
    const cases: { name: string; encryption: NonNullable<InputItem['encryption']>[] }[] = [
      { name: 'per-item keys', encryption: ['item-key', 'item-key', 'item-key'] },
      { name: 'plain "-" items', encryption: ['plain', 'plain'] },
      { name: 'mixed session, plain and per-item', encryption: ['session', 'plain', 'item-key', 'session', 'item-key', 'plain'] },
    ];
    for (const { name, encryption } of cases) {
      it(name, () => {
        const inputs = texts(encryption.length);
        const { built, run, opened } = roundTrip({ inData: inputs.map((data, i) => ({ data, encryption: encryption[i] })), signer: requester });

        built.params.inData.forEach((item, i) => {
          const mode = encryption[i];
          if (mode === 'plain') {
            assert.equal(item.encryptedDataEncryptionKey, '-');
            assert.equal(base64ToBytes(item.data).toString('utf8'), inputs[i], 'a plain item carries base64 of its plaintext');
          } else if (mode === 'item-key') {
            assert.ok(item.encryptedDataEncryptionKey && isHex(item.encryptedDataEncryptionKey));
            // An RSA-OAEP block is the modulus size: 2048 bits.
            assert.equal(hexToBytes(item.encryptedDataEncryptionKey).length, 256);
            assert.throws(() => aesGcmDecrypt(built.secrets.sessionKey, hexToBytes(item.iv ?? ''), base64ToBytes(item.data)), 'not under the session key');
          } else {
            assert.equal(item.encryptedDataEncryptionKey, '');
            assert.equal(aesGcmDecrypt(built.secrets.sessionKey, hexToBytes(item.iv ?? ''), base64ToBytes(item.data)).toString('utf8'), inputs[i]);
          }
        });
        assert.deepEqual(run.opened.inputs.map((input) => input.data.toString('utf8')), inputs);
        assert.deepEqual(opened.outData.map((output) => output.data.toString('utf8')), inputs.map(upper));
      });
    }
  });

  it('outData requests: session, plain and per-item outputs all come back decrypted', () => {
    const inputs = ['alpha', 'beta', 'gamma'];
    const { built, opened } = roundTrip({
      inData: inputs.map((data) => ({ data })),
      outData: [
        { index: 0, encryption: 'session' },
        { index: 1, encryption: 'plain' },
        { index: 2, encryption: 'item-key' },
      ],
    });
    assert.deepEqual(opened.outData.map((output) => output.data.toString('utf8')), inputs.map(upper));

    const [sessionItem, plainItem, keyedItem] = opened.result.outData;
    assert.ok(sessionItem && plainItem && keyedItem);
    assert.equal(sessionItem.encryptedDataEncryptionKey, '');
    assert.equal(aesGcmDecrypt(built.secrets.sessionKey, hexToBytes(sessionItem.iv ?? ''), base64ToBytes(sessionItem.data)).toString('utf8'), 'ALPHA');

    assert.equal(plainItem.encryptedDataEncryptionKey, '-');
    assert.equal(base64ToBytes(plainItem.data).toString('utf8'), 'BETA');

    // The per-item output is under the key the requester chose, and the worker echoes its wrapped form.
    assert.equal(keyedItem.encryptedDataEncryptionKey, built.params.outData?.[2]?.encryptedDataEncryptionKey);
    const outputKey = built.secrets.outputKeys.get(2);
    assert.ok(outputKey);
    assert.equal(aesGcmDecrypt(outputKey, hexToBytes(keyedItem.iv ?? ''), base64ToBytes(keyedItem.data)).toString('utf8'), 'GAMMA');
    assert.throws(() => aesGcmDecrypt(built.secrets.sessionKey, hexToBytes(keyedItem.iv ?? ''), base64ToBytes(keyedItem.data)));

    for (const item of opened.result.outData) {
      const plaintext = opened.outData.find((output) => output.index === item.index)?.data;
      assert.ok(plaintext);
      assert.equal(item.dataHash, plaintextHash(plaintext, 'SHA-256'), 'every output carries the hash of its plaintext');
    }
  });

  it('a per-item worker answers with fresh, distinct IVs, none equal to sessionKeyIv', () => {
    const inputs = texts(17);
    const { built, opened } = roundTrip({ inData: inputs.map((data) => ({ data })) });
    const ivs = opened.result.outData.map((item) => item.iv ?? '');
    assert.equal(ivs.length, 17);
    for (const iv of ivs) assert.equal(hexToBytes(iv).length, 12);
    assert.equal(new Set(ivs).size, ivs.length, 'no IV repeats within the response');
    assert.ok(!ivs.includes(built.params.sessionKeyIv ?? ''), 'no output reuses sessionKeyIv');
    const requestIvs = built.params.inData.map((item) => item.iv);
    assert.ok(ivs.every((iv) => !requestIvs.includes(iv)), 'no output reuses an input IV');
  });

  describe('Avalon IV mode', () => {
    it('an Avalon-style request to an Avalon-mode worker is answered under sessionKeyIv with empty iv', () => {
      const inputs = ['Hello', 'world'];
      const { built, run, opened } = roundTrip({ inData: inputs.map((data) => ({ data })), ivMode: 'avalon' }, AVALON_POLICY);
      for (const item of built.params.inData) assert.equal(item.iv, '', 'Avalon requesters leave iv empty');
      assert.equal(run.opened.avalonStyle, true);
      assert.deepEqual(opened.outData.map((output) => output.data.toString('utf8')), inputs.map(upper));
      for (const item of opened.result.outData) {
        assert.equal(item.iv, '');
        const plaintext = aesGcmDecrypt(built.secrets.sessionKey, built.secrets.sessionKeyIv, base64ToBytes(item.data));
        assert.equal(plaintext.toString('utf8'), upper(inputs[item.index] ?? ''));
      }
    });

    it('an Avalon-mode worker still answers a per-item request with fresh IVs', () => {
      const { built, run, opened } = roundTrip({ inData: [{ data: 'a' }, { data: 'b' }] }, AVALON_POLICY);
      assert.equal(run.opened.avalonStyle, false);
      for (const item of opened.result.outData) {
        assert.equal(hexToBytes(item.iv ?? '').length, 12);
        assert.notEqual(item.iv, built.params.sessionKeyIv);
      }
    });

    it('per-item keys and plain items keep working in an Avalon-style request', () => {
      const encryption: NonNullable<InputItem['encryption']>[] = ['session', 'item-key', 'plain'];
      const inputs = ['one', 'two', 'three'];
      const { opened } = roundTrip({ inData: inputs.map((data, i) => ({ data, encryption: encryption[i] })), ivMode: 'avalon' }, AVALON_POLICY);
      assert.deepEqual(opened.outData.map((output) => output.data.toString('utf8')), inputs.map(upper));
    });

    it('an Avalon-style request is refused by the default per-item worker (code 2, about the iv)', () => {
      const built = buildWorkOrder({ worker: worker.keys, workloadId, inData: [{ data: 'Hello' }], ivMode: 'avalon' });
      assert.throws(
        () => runWorker(wireCopy(built.params), worker),
        (error: unknown) => error instanceof TcfError && error.code === 2 && /params\.inData/.test(error.message) && /\biv\b/.test(error.message),
      );
    });
  });

  it('SHA3-256 as hashingAlgorithm on both sides', () => {
    const sha3Worker = makeWorker({ hashingAlgorithm: 'SHA3-256' });
    const inputs = ['keccak', 'is not', 'sha3'];
    const { built, run, opened } = roundTrip({ inData: inputs.map((data) => ({ data })), outData: [{ index: 1, encryption: 'plain' }] }, undefined, sha3Worker);
    built.params.inData.forEach((item, i) => assert.equal(item.dataHash, plaintextHash(Buffer.from(inputs[i] ?? ''), 'SHA3-256')));
    assert.notEqual(built.params.inData[0]?.dataHash, plaintextHash(Buffer.from('keccak'), 'SHA-256'));
    assert.equal(run.opened.requestHash.length, 32);
    assert.deepEqual(opened.outData.map((output) => output.data.toString('utf8')), inputs.map(upper));
    for (const item of opened.result.outData) {
      assert.equal(item.dataHash, plaintextHash(Buffer.from(upper(inputs[item.index] ?? '')), 'SHA3-256'));
    }
    // A SHA-256 requester cannot talk to it: the request hashes differ.
    const mismatched = buildWorkOrder({ worker: { ...sha3Worker.keys, hashingAlgorithm: 'SHA-256' }, workloadId, inData: [{ data: 'x' }] });
    assert.throws(() => runWorker(wireCopy(mismatched.params), sha3Worker), (error: unknown) => error instanceof TcfError && error.code === 2);
  });
});
