import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DirectoryIo, INSIDE_OUT_MESSAGES, InsideOutEval, type ExternalIo } from '../../src/workloads/index.js';
import { input, texts } from './helpers.js';

describe('inside-out-eval', () => {
  let root: string;
  let context: { io: ExternalIo };
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-inside-out-'));
    context = { io: new DirectoryIo(root) };
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const run = async (...requests: string[]) =>
    texts(await new InsideOutEval().process(requests.map((text, index) => input(index, text)), context));

  it('writes a file and reads it back, with Avalon\'s status text', async () => {
    assert.deepEqual(await run('write notes.txt hello', 'read notes.txt'), [
      [0, 'RESULT: FILE WRITE SUCCESS'],
      [1, 'RESULT: hello'],
    ]);
    assert.equal(fs.readFileSync(path.join(root, 'notes.txt'), 'utf8'), 'hello');
  });

  it('runs items in index order, so a write at a lower index is visible to a read at a higher one', async () => {
    const outputs = await new InsideOutEval().process([input(4, 'read ordered.txt'), input(1, 'write ordered.txt first')], context);
    assert.deepEqual(texts(outputs), [
      [1, 'RESULT: FILE WRITE SUCCESS'],
      [4, 'RESULT: first'],
    ]);
  });

  it('accepts an Avalon-style absolute path that lies inside the hosted directory', async () => {
    assert.deepEqual(await run(`write ${path.join(root, 'abs.txt')} absolute`), [[0, 'RESULT: FILE WRITE SUCCESS']]);
    assert.deepEqual(await run('read abs.txt'), [[0, 'RESULT: absolute']]);
  });

  it('answers a wrong number of arguments with Avalon\'s message', async () => {
    const insufficient = `RESULT: ${INSIDE_OUT_MESSAGES.insufficientArguments}`;
    assert.equal(insufficient, 'RESULT: Insufficient arguments passed for i/o operation');
    assert.deepEqual(await run('', '   ', 'read', 'read a b', 'write a', 'write a two words'), [
      [0, insufficient],
      [1, insufficient],
      [2, insufficient],
      [3, insufficient],
      [4, insufficient],
      [5, insufficient],
    ]);
  });

  it('answers an unknown operation with a bare "RESULT: ", as Avalon did', async () => {
    assert.deepEqual(await run('delete notes.txt', 'READ notes.txt'), [
      [0, 'RESULT: '],
      [1, 'RESULT: '],
    ]);
  });

  it('reports a missing file with Avalon\'s wording', async () => {
    assert.deepEqual(await run('read missing.txt', 'write no-such-dir/x.txt data'), [
      [0, 'RESULT: FAILED TO READ: Unable to open file'],
      [1, 'RESULT: FAILED TO WRITE: Unable to open file'],
    ]);
  });

  it('refuses paths outside the hosted directory without touching them', async () => {
    const outsideFile = path.join(path.dirname(root), `tcf-outside-${process.pid}.txt`);
    try {
      const outputs = await run('read ../etc/passwd', 'read /etc/passwd', `write ${outsideFile} pwned`);
      assert.deepEqual(outputs, [
        [0, 'RESULT: FAILED TO READ: the file name must not contain ".." segments'],
        [1, 'RESULT: FAILED TO READ: the path is outside the hosted directory'],
        [2, 'RESULT: FAILED TO WRITE: the path is outside the hosted directory'],
      ]);
      assert.equal(fs.existsSync(outsideFile), false);
    } finally {
      fs.rmSync(outsideFile, { force: true });
    }
  });

  it('stops the request and a read\'s content at the first NUL, as Avalon\'s C strings did', async () => {
    fs.writeFileSync(path.join(root, 'nul.txt'), Buffer.from('before\0after'));
    const outputs = await new InsideOutEval().process([input(0, Buffer.from('read nul.txt\0 extra words'))], context);
    assert.deepEqual(texts(outputs), [[0, 'RESULT: before']]);
  });

  it("never shows a plug-in's own error text to the requester", async () => {
    const leaky: ExternalIo = {
      read: () => Promise.reject(new Error('EACCES: /secret/host/path')),
      write: () => Promise.reject(new Error('EACCES: /secret/host/path')),
    };
    const outputs = await new InsideOutEval().process([input(0, 'read a'), input(1, 'write a b')], { io: leaky });
    assert.deepEqual(texts(outputs), [
      [0, 'RESULT: FAILED TO READ: Unable to open file'],
      [1, 'RESULT: FAILED TO WRITE: Unable to open file'],
    ]);
  });

  it('passes the path and content to the plug-in as given', async () => {
    const calls: Array<[string, string]> = [];
    const recording: ExternalIo = {
      read: async (name) => {
        calls.push(['read', name]);
        return Buffer.from('stored');
      },
      write: async (name, data) => {
        calls.push(['write', `${name}=${Buffer.from(data).toString()}`]);
      },
    };
    const outputs = await new InsideOutEval().process([input(0, 'write /data/é.txt caf\u00e9'), input(1, 'read /data/é.txt')], { io: recording });
    assert.deepEqual(texts(outputs), [
      [0, 'RESULT: FILE WRITE SUCCESS'],
      [1, 'RESULT: stored'],
    ]);
    assert.deepEqual(calls, [
      ['write', '/data/é.txt=café'],
      ['read', '/data/é.txt'],
    ]);
  });
});
