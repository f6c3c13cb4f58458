/**
 * The README's SDK example is examples/quickstart.ts, byte for byte, and it runs against a real node.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { PROJECT_ROOT, startNodeProcess, tempDir } from '../helpers/node-process.js';

describe('README SDK example', () => {
  it('is the file the test runs, and it prints a verified result', async () => {
    const example = fs.readFileSync(path.join(PROJECT_ROOT, 'examples/quickstart.ts'), 'utf8');
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes('```ts\n' + example + '```'), 'README.md shows examples/quickstart.ts verbatim');
    assert.ok(example.trim().split('\n').length <= 15, 'the example stays at fifteen lines');

    const node = await startNodeProcess({ dataDir: tempDir('readme'), args: ['--processes', '1'] });
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts', node.url], { cwd: PROJECT_ROOT });
      assert.match(stdout, /evidence TCF-SIMULATED-TEE/);
      assert.match(stdout, /→ RESULT: Hello, TCF/);
    } finally {
      await node.stop();
      fs.rmSync(node.dataDir, { recursive: true, force: true });
    }
  });
});
