/**
 * Clients that hang up are routine, not failures of the node: a body cut off halfway and a connection
 * closed before its answer is read must leave no ERROR line in the log (each used to log one), and the
 * node keeps answering.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { startNode, type RunningNode } from '../../src/node/index.ts';
import { tempDir } from '../helpers/node-process.ts';

function hangUp(url: string, request: string, afterMs: number): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(request);
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, afterMs);
    });
    socket.on('error', () => resolve());
  });
}

describe('clients that hang up', () => {
  const lines: string[] = [];
  const dataDir = tempDir('client-abort');
  let node: RunningNode;

  before(async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir, listener: { port: 0 }, workers: { processesPerWorker: 1 }, enclave: { rsaBits: 2048 } } });
    node = await startNode(config, createLogger('test', { level: 'info', write: (line) => lines.push(line) }));
  });

  after(async () => {
    await node.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('log no error for a body cut off or an answer left unread, and the node keeps answering', async () => {
    for (let round = 0; round < 5; round += 1) {
      await hangUp(node.url, 'POST / HTTP/1.1\r\nHost: tcf\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":', 30);
      const batch = JSON.stringify(Array.from({ length: 50 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'WorkerLookUp', params: {} })));
      await hangUp(node.url, `POST / HTTP/1.1\r\nHost: tcf\r\nContent-Type: application/json\r\nContent-Length: ${batch.length}\r\n\r\n${batch}`, 0);
    }
    const health = await fetch(`${node.url.replace(/\/$/, '')}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(lines.filter((line) => / ERROR /.test(line)), []);
  });
});
