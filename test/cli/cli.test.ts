/**
 * The `tcf` binary as users run it, against a real node: human and --json output, exit codes, the
 * requester home, and the failures a user must be able to tell apart (unreachable TCS, unknown
 * worker, untrusted evidence, tampered response).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNodeProcess, tcf, tempDir, type NodeProcess } from '../helpers/node-process.js';

/** A port nothing listens on: bound, then released. */
function freedPort(): Promise<number> {
  const server = http.createServer();
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A man in the middle that flips one bit of the first output item of every result. */
function tamperingProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) });
    const body = (await upstream.json()) as { result?: { outData?: { data: string }[] } };
    const item = body.result?.outData?.[0];
    if (item) {
      const bytes = Buffer.from(item.data, 'base64');
      bytes[0]! ^= 1;
      item.data = bytes.toString('base64');
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

describe('tcf command line against a real node', () => {
  let node: NodeProcess;
  let home: string;
  let env: Record<string, string>;

  before(async () => {
    node = await startNodeProcess({ dataDir: tempDir('cli'), args: ['--processes', '1'] });
    home = tempDir('cli-home');
    env = { TCF_URL: node.url, TCF_HOME: home };
  });

  after(async () => {
    await node.stop();
    fs.rmSync(node.dataDir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('workers list and show, human and --json', async () => {
    const human = await tcf(['workers', 'list'], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`${node.workers[0]!.workerId}.*SIMULATED TEE`));
    const listed = JSON.parse((await tcf(['workers', 'list', '--json'], env)).stdout) as { workerId: string; trusted: boolean; simulated: boolean }[];
    assert.deepEqual(listed.map((row) => [row.workerId, row.trusted, row.simulated]), [[node.workers[0]!.workerId, true, true]]);
    const shown = JSON.parse((await tcf(['workers', 'show', node.workers[0]!.workerId, '--json', '--policy', 'hardware'], env)).stdout) as {
      workerId: string;
      trusted: boolean;
      reason: string;
      measurement?: string;
      verdict?: { type: string; measurement: string; tcbStatus: string };
    };
    assert.equal(shown.workerId, node.workers[0]!.workerId);
    assert.equal(shown.trusted, false);
    assert.match(shown.reason, /SIMULATED TEE/);
    assert.equal(shown.measurement, undefined, 'a refused worker has no trusted measurement');
    assert.equal(shown.verdict?.type, 'simulated');
    assert.equal(shown.verdict?.tcbStatus, 'Simulated');
    assert.match(shown.verdict?.measurement ?? '', /^[0-9a-f]{64}$/);

    const details = await tcf(['workers', 'show', node.workers[0]!.workerId], env);
    assert.equal(details.code, 0, details.stderr);
    assert.match(details.stdout, /evidence simulated: SIMULATED, no hardware vouches for it/);
    assert.match(details.stdout, new RegExp(`measurement ${shown.verdict?.measurement} \\(as the evidence states it, not attested\\)\n`));
    assert.match(details.stdout, /verification key sha256 [0-9a-f]{16}…, encryption key sha256 [0-9a-f]{16}…/);
    assert.match(details.stdout, /trusted under the development policy — SIMULATED TEE/);
    const refused = await tcf(['workers', 'show', node.workers[0]!.workerId, '--policy', 'hardware'], env);
    assert.match(refused.stdout, /NOT trusted under the hardware policy: .*SIMULATED TEE/);

    // A policy file pinning the worker's measurement trusts it; one pinning other code refuses it, saying so.
    const pinned = path.join(home, 'pinned-policy.json');
    fs.writeFileSync(pinned, JSON.stringify({ acceptedTypes: ['simulated'], measurements: { simulated: [shown.verdict?.measurement] } }));
    const trusted = JSON.parse((await tcf(['workers', 'show', node.workers[0]!.workerId, '--json', '--policy', pinned], env)).stdout) as { trusted: boolean };
    assert.equal(trusted.trusted, true);
    const other = path.join(home, 'other-policy.json');
    fs.writeFileSync(other, JSON.stringify({ acceptedTypes: ['simulated'], measurements: { simulated: ['00'.repeat(32)] } }));
    const elsewhere = await tcf(['workers', 'show', node.workers[0]!.workerId, '--policy', other], env);
    assert.match(elsewhere.stdout, /NOT trusted under the .*other-policy.json policy: measurement [0-9a-f]{64} is not in the policy's allowed measurements/);
    const submitted = await tcf(['submit', '--workload', 'echo-result', '--in', 'x', '--policy', other], env);
    assert.equal(submitted.code, 4, submitted.stderr);
  });

  it('submit prints the verified, decrypted result (human and --json)', async () => {
    const human = await tcf(['submit', '--workload', 'echo-result', '--in', 'Hello', '--in', 'World'], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /\[0\] RESULT: Hello\n.*\[1\] RESULT: World/s);
    assert.match(human.stdout, /SIMULATED TEE/);
    assert.equal(human.stderr.includes('\x1b'), false, 'no spinner control codes when stderr is not a terminal');
    const input = path.join(home, 'input.txt');
    fs.writeFileSync(input, 'Data: 32 1 1 156 132 125 1 95 1 0 1 1 3 1');
    const json = await tcf(['submit', '--workload', 'heart-disease-eval', '--in', `@${input}`, '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { verified: boolean; outputs: { index: number; text: string }[] };
    assert.equal(parsed.verified, true);
    assert.deepEqual(parsed.outputs, [{ index: 0, text: 'You have a 71% risk of heart disease' }]);
  });

  it('keys, a signed asynchronous work order with its receipt, result --wait and receipts', async () => {
    assert.equal((await tcf(['submit', '--workload', 'echo-result', '--in', 'x', '--sign'], env)).code, 2, 'signing without a key is a usage error');
    const created = JSON.parse((await tcf(['keys', 'create', '--json'], env)).stdout) as { requesterId: string };
    assert.match(created.requesterId, /^[0-9a-f]{64}$/);
    assert.equal(fs.statSync(path.join(home, 'requester-key.pem')).mode & 0o777, 0o600);
    assert.equal((await tcf(['keys', 'create'], env)).code, 2, 'an existing key is not replaced without --force');
    const shown = await tcf(['keys', 'show'], env);
    assert.match(shown.stdout, new RegExp(`requesterId ${created.requesterId}`));
    assert.doesNotMatch(shown.stdout, /PRIVATE/);

    const submitted = await tcf(['submit', '--workload', 'echo-result', '--in', 'later', '--sign', '--receipt', '--async', '--json'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { workOrderId, secretsFile } = JSON.parse(submitted.stdout) as { workOrderId: string; secretsFile: string };
    assert.equal(fs.statSync(secretsFile).mode & 0o777, 0o600);
    const result = JSON.parse((await tcf(['result', workOrderId, '--wait', '--json'], env)).stdout) as { outputs: { text: string }[] };
    assert.equal(result.outputs[0]!.text, 'RESULT: later');

    const listed = JSON.parse((await tcf(['receipts', 'list', '--requester', created.requesterId, '--json'], env)).stdout) as { ids: string[] };
    assert.deepEqual(listed.ids, [workOrderId]);
    const receipt = JSON.parse((await tcf(['receipts', 'show', workOrderId, '--json'], env)).stdout) as { receiptCurrentStatus: number; updates: { signer: string; signatureValid: boolean }[] };
    assert.equal(receipt.receiptCurrentStatus, 2);
    assert.deepEqual(receipt.updates.map((update) => [update.signer, update.signatureValid]), [['worker', true]]);
    const human = await tcf(['receipts', 'show', workOrderId], env);
    assert.match(human.stdout, new RegExp(`PROCESSED by the worker ${node.workers[0]!.workerId} — signature valid`));
  });

  it('tells failures apart by exit code and message', async () => {
    // Port 1 is one fetch refuses outright; a port just freed is what a user meets when no node runs.
    const blocked = await tcf(['workers', 'list', '--url', 'http://127.0.0.1:1'], env);
    assert.equal(blocked.code, 3);
    assert.match(blocked.stderr, /cannot reach the TCS at http:\/\/127\.0\.0\.1:1 \(bad port\)/);
    const closedPort = await freedPort();
    const unreachable = await tcf(['workers', 'list', '--url', `http://127.0.0.1:${closedPort}`], env);
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, new RegExp(`cannot reach the TCS at http://127\\.0\\.0\\.1:${closedPort} \\(ECONNREFUSED\\)`));
    const unreachableJson = await tcf(['submit', '--workload', 'echo-result', '--in', 'x', '--url', 'http://127.0.0.1:1', '--json'], env);
    assert.equal(unreachableJson.code, 3);
    assert.equal((JSON.parse(unreachableJson.stdout) as { error: { kind: string } }).error.kind, 'TransportError');

    const unknown = await tcf(['submit', '--workload', 'echo-result', '--in', 'x', '--worker', 'ab'.repeat(32), '--json'], env);
    assert.equal(unknown.code, 1);
    const unknownError = (JSON.parse(unknown.stdout) as { error: { code: number; message: string } }).error;
    assert.equal(unknownError.code, 2);
    assert.match(unknownError.message, /does not exist/);

    const untrusted = await tcf(['submit', '--workload', 'echo-result', '--in', 'x', '--policy', 'hardware'], env);
    assert.equal(untrusted.code, 4);
    assert.match(untrusted.stderr, /SIMULATED TEE/);

    const proxy = await tamperingProxy(node.url);
    try {
      const tampered = await tcf(['submit', '--workload', 'echo-result', '--in', 'x', '--url', proxy.url, '--json'], env);
      assert.equal(tampered.code, 4);
      const reason = (JSON.parse(tampered.stdout) as { error: { reason: string } }).error.reason;
      assert.ok(['tampered-item', 'bad-signature'].includes(reason), reason);
    } finally {
      await proxy.close();
    }
  });

  it('usage mistakes exit 2, and still answer in JSON when --json was asked for', async () => {
    const badNumber = await tcf(['workers', 'list', '--type', 'tee', '--json'], env);
    assert.equal(badNumber.code, 2);
    assert.match((JSON.parse(badNumber.stdout) as { error: { message: string } }).error.message, /--type <n>.*expected a whole number/);
    const missing = await tcf(['submit', '--in', 'x'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--workload <id>' not specified/);
    assert.equal(missing.stdout, '');
    const badPolicy = await tcf(['workers', 'list', '--policy', 'lenient'], env);
    assert.equal(badPolicy.code, 2);
    assert.match(badPolicy.stderr, /--policy must be development, hardware or a policy file; cannot read "lenient"/);
    const noSecrets = await tcf(['result', 'ab'.repeat(32)], env);
    assert.equal(noSecrets.code, 2);
    assert.match(noSecrets.stderr, /no saved secrets for work order/);
  });

  it('demo runs every example workload and explains it', async () => {
    const demo = await tcf(['demo', '--json'], {});
    assert.equal(demo.code, 0, demo.stderr);
    const outputs = (JSON.parse(demo.stdout) as { workOrders: { workload: string; output: string }[] }).workOrders.map((order) => [order.workload, order.output]);
    assert.deepEqual(outputs, [
      ['echo-result', 'RESULT: Hello, TCF'],
      ['heart-disease-eval', 'You have a 47% risk of heart disease'],
      ['inside-out-eval', 'RESULT: FILE WRITE SUCCESS'],
      ['inside-out-eval', 'RESULT: data-hosted-by-the-TCS'],
    ]);
  });

  it('demo --ledger ethereum runs the same examples through a local chain, the contracts and the connector', async () => {
    const demo = await tcf(['demo', '--ledger', 'ethereum', '--json'], {});
    assert.equal(demo.code, 0, demo.stderr);
    const summary = JSON.parse(demo.stdout) as { ledger: string; chainId: number; workOrders: { workload: string; output: string; receiptStatus: number }[] };
    assert.equal(summary.ledger, 'ethereum');
    assert.equal(summary.chainId, 31337);
    assert.deepEqual(
      summary.workOrders.map((order) => [order.workload, order.output, order.receiptStatus]),
      [
        ['echo-result', 'RESULT: Hello, TCF', 2],
        ['heart-disease-eval', 'You have a 47% risk of heart disease', 2],
        ['inside-out-eval', 'RESULT: FILE WRITE SUCCESS', 2],
        ['inside-out-eval', 'RESULT: data-hosted-by-the-TCS', 2],
      ],
    );
  });

  it('every command has --help with an example', async () => {
    for (const command of [['workers'], ['receipts'], ['keys'], ['node', 'start'], ['demo'], ['workers', 'list'], ['workers', 'show'], ['submit'], ['result'], ['receipts', 'list'], ['receipts', 'show'], ['keys', 'create'], ['keys', 'show'], ['contracts'], ['contracts', 'deploy'], ['connector'], ['connector', 'ethereum']]) {
      const help = await tcf([...command, '--help'], {});
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Example/, `${command.join(' ')} --help has an example`);
    }
  });
});
