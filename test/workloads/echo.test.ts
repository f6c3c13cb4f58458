import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EchoResult } from '../../src/workloads/index.js';
import { input, texts } from './helpers.js';


describe('echo-result', () => {
  it('answers each input under its own index with "RESULT: " + input', async () => {
    const outputs = await new EchoResult().process([input(0, 'hello'), input(1, 'world')]);
    assert.deepEqual(texts(outputs), [
      [0, 'RESULT: hello'],
      [1, 'RESULT: world'],
    ]);
  });

  it('keeps sparse indices and answers in index order, as Avalon sorts inData first', async () => {
    const outputs = await new EchoResult().process([input(7, 'b'), input(2, 'a')]);
    assert.deepEqual(texts(outputs), [
      [2, 'RESULT: a'],
      [7, 'RESULT: b'],
    ]);
  });

  it('echoes an empty input and arbitrary bytes (NUL included) unchanged after the prefix', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x41, 0x00]);
    const [empty, binary] = await new EchoResult().process([input(0, ''), input(1, bytes)]);
    assert.equal(Buffer.from(empty!.data).toString(), 'RESULT: ');
    assert.deepEqual(Buffer.from(binary!.data), Buffer.concat([Buffer.from('RESULT: '), bytes]));
  });

  it('answers no inputs with no outputs', async () => {
    assert.deepEqual(await new EchoResult().process([]), []);
  });
});
