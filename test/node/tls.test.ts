/**
 * The listener over TLS with an operator token, and the configuration rule that keeps the token off
 * clear-text network links.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { startNode, type RunningNode } from '../../src/node/index.js';
import { tempDir } from '../helpers/node-process.js';

const TOKEN = 'operator-token-over-tls';

function post(url: string, ca: Buffer, body: object, headers: Record<string, string> = {}): Promise<{ error?: { code: number; message: string }; result?: unknown }> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

describe('listener over TLS', () => {
  let dataDir: string;
  let node: RunningNode;
  let ca: Buffer;

  before(async () => {
    dataDir = tempDir('tls');
    const cert = path.join(dataDir, 'cert.pem');
    const key = path.join(dataDir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    ca = fs.readFileSync(cert);
    const config = loadConfig({ env: {}, overrides: { dataDir, listener: { port: 0, operatorToken: TOKEN, tlsCertFile: cert, tlsKeyFile: key }, workers: { processesPerWorker: 1 }, enclave: { rsaBits: 2048 } } });
    node = await startNode(config, createLogger('test', { level: 'silent' }));
  });

  after(async () => {
    await node.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves JSON-RPC over HTTPS and accepts the operator token there', async () => {
    assert.match(node.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const workerId = node.manager!.managedWorkers[0]!.workerId;
    const call = { jsonrpc: '2.0', id: 1, method: 'WorkerSetStatus', params: { workerId, status: 1 } };
    assert.equal((await post(node.url, ca, call)).error?.code, 3);
    assert.deepEqual((await post(node.url, ca, call, { authorization: `Bearer ${TOKEN}` })).error, { code: 0, message: 'Worker status updated successfully' });
    await assert.rejects(fetch(node.url.replace('https:', 'http:'), { method: 'POST', body: '{}' }));
  });

  it('refuses an operator token that would travel in clear over a network interface', () => {
    assert.throws(() => loadConfig({ env: {}, overrides: { listener: { host: '0.0.0.0', operatorToken: TOKEN } } }), (error: unknown) => error instanceof ConfigError && /in clear/.test(error.message));
    assert.doesNotThrow(() => loadConfig({ env: {}, overrides: { listener: { host: '127.0.0.1', operatorToken: TOKEN } } }));
  });
});
