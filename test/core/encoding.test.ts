/**
 * The base64 check takes a native fast path for canonical encodings; it must accept and decode exactly
 * what the grammar of padded standard base64 allows, canonical or not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { base64ToBytes, isBase64 } from '../../src/crypto/encoding.js';

/** The grammar itself, group by group (slow on large inputs, which is why the code does not use it). */
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const nearBase64 = fc.string({ unit: fc.constantFrom(...'AQRgw09+/=-_ \n\u00e9'.split('')), maxLength: 14 });

describe('base64 input', () => {
  it('accepts exactly the padded standard base64 grammar', () => {
    fc.assert(
      fc.property(nearBase64, (text) => {
        assert.equal(isBase64(text), PADDED_BASE64.test(text), JSON.stringify(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('decodes non-canonical trailing bits as other decoders do, and refuses what is not base64', () => {
    assert.deepEqual([...base64ToBytes('QR==')], [0x41]);
    assert.deepEqual([...base64ToBytes('QUJ=')], [0x41, 0x42]);
    for (const bad of ['QQ=', 'Q===', 'QQ-_', 'QQ==QQ==', ' QQ==']) assert.throws(() => base64ToBytes(bad), /base64/, bad);
  });
});
