import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { textToHex } from '../../src/crypto/encoding.js';
import { ErrorCode, TcfError } from '../../src/protocol/errors.js';
import { defaultWorkloads, DirectoryIo, EchoResult, NO_EXTERNAL_IO, WorkloadRegistry, type Workload } from '../../src/workloads/index.js';
import { input, texts } from './helpers.js';

function unknownWorkload(...mentions: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof TcfError, `expected a TcfError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.INVALID_WORKLOAD);
    assert.equal(error.code, 9);
    assert.match(error.message, /^params\.workloadId: unknown workload /);
    for (const text of mentions) assert.ok(error.message.includes(text), `${JSON.stringify(error.message)} should mention ${text}`);
    return true;
  };
}

describe('WorkloadRegistry', () => {
  const registry = defaultWorkloads(NO_EXTERNAL_IO);

  it("holds Avalon's three examples", () => {
    assert.deepEqual(registry.list(), ['echo-result', 'heart-disease-eval', 'inside-out-eval']);
  });

  it('resolves the wire form (hex of the UTF-8 name, either case, optional 0x) and the plain name', () => {
    assert.equal(textToHex('echo-result'), '6563686f2d726573756c74');
    for (const id of ['6563686f2d726573756c74', '6563686F2D726573756C74', '0x6563686f2d726573756c74', 'echo-result']) {
      assert.equal(registry.resolve(id).name, 'echo-result', id);
    }
    assert.equal(registry.resolve(textToHex('heart-disease-eval')).name, 'heart-disease-eval');
    assert.equal(registry.resolve(textToHex('inside-out-eval')).name, 'inside-out-eval');
  });

  it('refuses an unknown workload with code 9, naming it and what the worker runs', () => {
    const offered = 'this worker runs: echo-result, heart-disease-eval, inside-out-eval';
    assert.throws(() => registry.resolve(textToHex('simple-wallet')), unknownWorkload('"simple-wallet"', offered));
    assert.throws(() => registry.resolve('python-fib'), unknownWorkload('"python-fib"', offered));
    // Hex that is not text is shown as sent.
    assert.throws(() => registry.resolve('ffff'), unknownWorkload('"ffff"'));
    assert.throws(() => registry.resolve(''), unknownWorkload('""'));
    assert.throws(() => new WorkloadRegistry().resolve('echo-result'), unknownWorkload('"echo-result"', 'this worker runs: no workloads'));
  });

  it('clips and escapes a hostile id in the message', () => {
    assert.throws(() => registry.resolve(`${'x'.repeat(1000)}`), (error: unknown) => {
      assert.ok(error instanceof TcfError);
      assert.ok(error.message.length < 400, 'the message stays short');
      return true;
    });
    assert.throws(() => registry.resolve('bad\nname'), unknownWorkload('"bad\\nname"'));
  });

  it('runs a workload by wire id with the I/O plug-in it was built with', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-registry-'));
    try {
      fs.writeFileSync(path.join(root, 'hosted.txt'), 'hosted content');
      const withIo = defaultWorkloads(new DirectoryIo(root));
      assert.deepEqual(texts(await withIo.run(textToHex('inside-out-eval'), [input(0, 'read hosted.txt')])), [[0, 'RESULT: hosted content']]);
      assert.deepEqual(texts(await withIo.run(textToHex('echo-result'), [input(3, 'hi')])), [[3, 'RESULT: hi']]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses duplicate, empty, spaced and hex-looking names at registration', () => {
    const named = (name: string): Workload => ({ name, description: 'test', sourceFile: '/dev/null', process: async () => [] });
    const fresh = new WorkloadRegistry().register(new EchoResult());
    assert.throws(() => fresh.register(new EchoResult()), /already registered/);
    assert.throws(() => fresh.register(named('')), /non-empty printable/);
    assert.throws(() => fresh.register(named('two words')), /non-empty printable/);
    assert.throws(() => fresh.register(named('cafe')), /hex string/);
    assert.deepEqual(fresh.list(), ['echo-result']);
  });

  it('lists the workload source files for the measurement: absolute, existing, sorted and stable', () => {
    const files = registry.measurementInputs();
    assert.deepEqual(files, [...files].sort());
    assert.deepEqual(defaultWorkloads(NO_EXTERNAL_IO).measurementInputs(), files);
    for (const file of files) {
      assert.ok(path.isAbsolute(file), file);
      assert.ok(fs.statSync(file).isFile(), file);
    }
    const names = files.map((file) => path.basename(file, path.extname(file)));
    for (const module of ['echo', 'heart-disease-eval', 'inside-out-eval', 'registry', 'workload', 'external-io', 'avalon-text']) {
      assert.ok(names.includes(module), `${module} is measured`);
    }
  });
});
