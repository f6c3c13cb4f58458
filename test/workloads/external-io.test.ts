import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DirectoryIo, ExternalIoError, NO_EXTERNAL_IO, UNABLE_TO_OPEN } from '../../src/workloads/index.js';

function refusal(reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ExternalIoError, `expected an ExternalIoError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    return true;
  };
}

const OUTSIDE = 'the path is outside the hosted directory';
const DOT_DOT = 'the file name must not contain ".." segments';

describe('DirectoryIo', () => {
  let base: string;
  let root: string;
  let outside: string;
  let io: DirectoryIo;

  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-dirio-'));
    root = path.join(base, 'hosted');
    outside = path.join(base, 'outside');
    fs.mkdirSync(root);
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    io = new DirectoryIo(root);
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('round-trips a file, replacing earlier content, in a subdirectory too', async () => {
    await io.write('a.txt', Buffer.from('a much longer first version'));
    await io.write('a.txt', Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(await io.read('a.txt'), Buffer.from([0, 1, 2, 255]));
    fs.mkdirSync(path.join(root, 'sub'));
    await io.write('sub/b.txt', Buffer.from('b'));
    assert.equal((await io.read('./sub/b.txt')).toString(), 'b');
    assert.equal(fs.readFileSync(path.join(root, 'sub', 'b.txt'), 'utf8'), 'b');
  });

  it('refuses ".." segments, even ones that would stay inside', async () => {
    fs.mkdirSync(path.join(root, 'sub'));
    for (const name of ['../x', '../outside/secret.txt', 'sub/../../outside/secret.txt', 'sub/..', 'sub\\..\\..\\x']) {
      await assert.rejects(io.read(name), refusal(DOT_DOT), name);
      await assert.rejects(io.write(name, Buffer.from('x')), refusal(DOT_DOT), name);
    }
    assert.equal(fs.existsSync(path.join(base, 'x')), false);
  });

  it('refuses absolute paths outside the root and accepts those inside it', async () => {
    await assert.rejects(io.read(path.join(outside, 'secret.txt')), refusal(OUTSIDE));
    await assert.rejects(io.read('/etc/passwd'), refusal(OUTSIDE));
    await assert.rejects(io.write(path.join(outside, 'new.txt'), Buffer.from('x')), refusal(OUTSIDE));
    // A sibling whose name starts with the root's is not inside it.
    await assert.rejects(io.write(`${root}-evil/new.txt`, Buffer.from('x')), refusal(OUTSIDE));
    assert.equal(fs.existsSync(path.join(outside, 'new.txt')), false);

    await io.write(path.join(root, 'inside.txt'), Buffer.from('ok'));
    assert.equal((await io.read('inside.txt')).toString(), 'ok');
  });

  it('refuses a symlink that points outside, for reading and for writing', async () => {
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link.txt'));
    fs.symlinkSync(outside, path.join(root, 'linkdir'));
    await assert.rejects(io.read('link.txt'), refusal(OUTSIDE));
    await assert.rejects(io.write('link.txt', Buffer.from('pwned')), refusal(OUTSIDE));
    await assert.rejects(io.read('linkdir/secret.txt'), refusal(OUTSIDE));
    await assert.rejects(io.write('linkdir/new.txt', Buffer.from('pwned')), refusal(OUTSIDE));
    assert.equal(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'secret');
    assert.equal(fs.existsSync(path.join(outside, 'new.txt')), false);
  });

  it('does not create a file through a dangling symlink', async () => {
    fs.symlinkSync(path.join(outside, 'created.txt'), path.join(root, 'dangling.txt'));
    await assert.rejects(io.write('dangling.txt', Buffer.from('pwned')), refusal(UNABLE_TO_OPEN));
    assert.equal(fs.existsSync(path.join(outside, 'created.txt')), false);
  });

  it('follows a symlink that stays inside the root', async () => {
    fs.writeFileSync(path.join(root, 'target.txt'), 'inside');
    fs.symlinkSync('target.txt', path.join(root, 'alias.txt'));
    assert.equal((await io.read('alias.txt')).toString(), 'inside');
    await io.write('alias.txt', Buffer.from('updated'));
    assert.equal(fs.readFileSync(path.join(root, 'target.txt'), 'utf8'), 'updated');
  });

  it('works when the root itself is reached through a symlink, for absolute paths under either spelling', async () => {
    const alias = path.join(base, 'alias-root');
    fs.symlinkSync(root, alias);
    const aliased = new DirectoryIo(alias);
    await aliased.write(path.join(alias, 'via-alias.txt'), Buffer.from('1'));
    await aliased.write(path.join(fs.realpathSync(root), 'via-real.txt'), Buffer.from('2'));
    assert.equal(fs.readFileSync(path.join(root, 'via-alias.txt'), 'utf8'), '1');
    assert.equal((await aliased.read('via-real.txt')).toString(), '2');
  });

  it('refuses empty names, NUL bytes, directories and missing files with clear reasons', async () => {
    await assert.rejects(io.read(''), refusal('the file name is empty'));
    await assert.rejects(io.read('a\0b'), refusal('the file name contains a NUL byte'));
    await assert.rejects(io.read('.'), refusal(UNABLE_TO_OPEN));
    await assert.rejects(io.write('.', Buffer.from('x')), refusal(UNABLE_TO_OPEN));
    await assert.rejects(io.read('missing.txt'), (error: unknown) => {
      assert.ok(error instanceof ExternalIoError);
      assert.equal(error.reason, UNABLE_TO_OPEN);
      assert.match(error.message, /^external I\/O "missing\.txt": Unable to open file \(ENOENT\)$/);
      assert.ok(!error.message.includes(root), 'the message must not reveal the host path');
      return true;
    });
  });

  it('refuses files larger than its read limit', async () => {
    const small = new DirectoryIo(root, { maxReadBytes: 4 });
    fs.writeFileSync(path.join(root, 'four.txt'), '1234');
    fs.writeFileSync(path.join(root, 'five.txt'), '12345');
    assert.equal((await small.read('four.txt')).toString(), '1234');
    await assert.rejects(small.read('five.txt'), refusal('the file is larger than 4 bytes'));
  });

  it('fails cleanly while the hosted directory does not exist, and works once it does', async () => {
    const later = new DirectoryIo(path.join(base, 'later'));
    await assert.rejects(later.write('x.txt', Buffer.from('x')), refusal(UNABLE_TO_OPEN));
    fs.mkdirSync(path.join(base, 'later'));
    await later.write('x.txt', Buffer.from('x'));
    assert.equal((await later.read('x.txt')).toString(), 'x');
  });
});

describe('NO_EXTERNAL_IO', () => {
  it('refuses every access like a missing file', async () => {
    await assert.rejects(NO_EXTERNAL_IO.read('a'), refusal(UNABLE_TO_OPEN));
    await assert.rejects(NO_EXTERNAL_IO.write('a', Buffer.from('x')), refusal(UNABLE_TO_OPEN));
  });
});
