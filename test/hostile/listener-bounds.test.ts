/**
 * What one client can cost the listener, against a real node with small limits: calls per batch,
 * bytes per answer, a client that never reads its answers, bodies declared or sent past the limit,
 * bodies and headers that never end, idle connections and the connection cap. A wait below is a
 * liveness bound many times the configured timeout (the node's defaults would hold for minutes), never
 * a measure of speed.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/index.js';
import { startTestNode, type TestNode } from '../helpers/in-process-node.js';

const BODY_LIMIT = 1024 * 1024;
const MAX_ANSWER = 2 * 1024 * 1024;
const MAX_BATCH = 60;
const MAX_CONNECTIONS = 8;
const LIVENESS_MS = 15_000;

type Reply = { id: number; result?: unknown; error?: { code: number; message: string } };

/** Resolves with the promise, or fails the test with `what` if it does not settle within LIVENESS_MS. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${LIVENESS_MS} ms`)), LIVENESS_MS);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
    })(),
    what,
  );
}

function getResultBatch(workOrderId: string, calls: number): string {
  return JSON.stringify(Array.from({ length: calls }, (_, id) => ({ jsonrpc: '2.0', id, method: 'WorkOrderGetResult', params: { workOrderId } })));
}

/** A raw connection that records what the server sends and when it closes. */
function connect(url: string): { socket: net.Socket; received: () => string; closed: Promise<void>; isClosed: () => boolean } {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  let isClosed = false;
  socket.on('data', (data: Buffer) => {
    received += data.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  return { socket, received: () => received, closed, isClosed: () => isClosed };
}

/** Writes `chunk` as fast as the server takes it until the connection closes or `stopAfterBytes` were written. */
async function pump(socket: net.Socket, chunk: Buffer, stopAfterBytes: number): Promise<number> {
  let written = 0;
  while (!socket.destroyed && written < stopAfterBytes) {
    written += chunk.length;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
      });
    }
  }
  return written;
}

describe('listener bounds: batches, answer bytes, slow readers, bodies, timeouts, connections', () => {
  let test: TestNode;
  let url: string;
  let workOrderId: string;
  let resultBytes: number;

  function metric(name: string): number {
    const line = test.node.listener!.metrics.render().split('\n').find((candidate) => candidate.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : 0;
  }

  async function post(body: string): Promise<{ status: number; text: string }> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.status, text: await response.text() };
  }

  before(async () => {
    test = await startTestNode('listener-bounds', {
      listener: {
        bodyLimitBytes: BODY_LIMIT,
        maxAnswerBytes: MAX_ANSWER,
        maxBatchCalls: MAX_BATCH,
        writeTimeoutMs: 300,
        requestTimeoutMs: 600,
        headersTimeoutMs: 400,
        keepAliveTimeoutMs: 300,
        maxConnections: MAX_CONNECTIONS,
      },
    });
    url = test.node.url;
    const result = await test.client.run({ workerId: test.workerId, workload: 'echo-result', inputs: ['y'.repeat(600_000)] });
    workOrderId = result.workOrderId;
    resultBytes = (await post(getResultBatch(workOrderId, 1))).text.length;
    assert.ok(resultBytes > MAX_ANSWER / 4 && resultBytes < MAX_ANSWER / 2, `one result answer is ${resultBytes} bytes`);
  });

  after(() => test.stop());

  it('refuses a batch over listener.maxBatchCalls whole, with one error naming the cap', async () => {
    const calls = Array.from({ length: MAX_BATCH + 1 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'WorkerLookUp', params: {} }));
    const { status, text } = await post(JSON.stringify(calls));
    assert.equal(status, 200);
    const reply = JSON.parse(text) as Reply;
    assert.ok(!Array.isArray(reply), 'one error, not an answer per call');
    assert.equal(reply.error?.code, ErrorCode.INVALID_REQUEST);
    assert.match(reply.error!.message, new RegExp(`1–${MAX_BATCH} calls \\(listener\\.maxBatchCalls\\); this one holds ${MAX_BATCH + 1}`));
    const full = JSON.parse((await post(JSON.stringify(calls.slice(0, MAX_BATCH)))).text) as Reply[];
    assert.equal(full.length, MAX_BATCH, 'a batch at the cap is answered call by call');
  });

  it('keeps a batch of reads of one large result within listener.maxAnswerBytes: the calls past it get "answer too large"', async () => {
    const cutBefore = metric('tcf_listener_answers_cut_total');
    const { status, text } = await post(getResultBatch(workOrderId, MAX_BATCH));
    assert.equal(status, 200);
    const slack = MAX_BATCH * 400;
    assert.ok(Buffer.byteLength(text) <= MAX_ANSWER + slack, `the answer is ${Buffer.byteLength(text)} bytes; the cap is ${MAX_ANSWER}`);
    const replies = JSON.parse(text) as Reply[];
    assert.deepEqual(replies.map((reply) => reply.id), Array.from({ length: MAX_BATCH }, (_, id) => id), 'every call is answered, in order');
    const results = replies.filter((reply) => reply.result !== undefined);
    const cut = replies.filter((reply) => reply.error !== undefined);
    assert.ok(results.length >= 1 && results.length <= Math.floor(MAX_ANSWER / resultBytes), `${results.length} results fit`);
    assert.equal(results.length + cut.length, MAX_BATCH);
    for (const reply of cut) {
      assert.equal(reply.error!.code, ErrorCode.INTERNAL_ERROR);
      assert.match(reply.error!.message, /^answer too large: .*listener\.maxAnswerBytes \(2097152 bytes\).*; fetch fewer results per batch$/);
    }
    assert.ok(cut.some((reply) => /so it was not run/.test(reply.error!.message)), 'calls after the budget ran out were not run');
    assert.equal(metric('tcf_listener_answers_cut_total') - cutBefore, cut.length);
    const single = JSON.parse((await post(getResultBatch(workOrderId, 1))).text) as Reply[];
    assert.ok(single[0]!.result !== undefined, 'the next batch gets its result');
  });

  it('destroys the connection of a client that never reads its answers, within listener.writeTimeoutMs', async () => {
    const destroyedBefore = metric('tcf_listener_slow_readers_destroyed_total');
    const client = connect(url);
    await new Promise((resolve) => client.socket.once('connect', resolve));
    client.socket.pause();
    const body = getResultBatch(workOrderId, 2);
    const request = `POST / HTTP/1.1\r\nhost: tcf\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    // Pipelined requests whose answers together outgrow what the kernel buffers for a client that does not read.
    client.socket.write(request.repeat(40));
    await until(() => metric('tcf_listener_slow_readers_destroyed_total') > destroyedBefore, 'the slow reader is destroyed');
    client.socket.destroy();
  });

  it('answers a declared 10^12-byte body with 413 and stops reading it: the connection closes while the client keeps writing', async () => {
    const client = connect(url);
    client.socket.write('POST / HTTP/1.1\r\nhost: tcf\r\ncontent-type: application/json\r\ncontent-length: 1000000000000\r\n\r\n');
    const stopAfter = 512 * 1024 * 1024;
    const written = await within(pump(client.socket, Buffer.alloc(64 * 1024, 0x20), stopAfter), 'the client writes');
    await within(client.closed, 'the connection closes');
    assert.ok(written < 64 * 1024 * 1024, `the node took ${written} bytes of a body it had refused`);
    assert.match(client.received(), /^HTTP\/1\.1 413 /);
  });

  it('answers a chunked body that grows past the limit with 413 and stops reading it', async () => {
    const client = connect(url);
    client.socket.write('POST / HTTP/1.1\r\nhost: tcf\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
    const chunk = Buffer.concat([Buffer.from(`${(64 * 1024).toString(16)}\r\n`), Buffer.alloc(64 * 1024, 0x20), Buffer.from('\r\n')]);
    const written = await within(pump(client.socket, chunk, 512 * 1024 * 1024), 'the client writes');
    await within(client.closed, 'the connection closes');
    assert.ok(written < 64 * 1024 * 1024, `the node took ${written} bytes of a body it had refused`);
    assert.match(client.received(), /^HTTP\/1\.1 413 /);
  });

  it('cuts a chunked body that trickles and never ends after listener.requestTimeoutMs', async () => {
    const incompleteBefore = test.node.listener!.metrics.render().match(/reason="incomplete_body"} (\d+)/)?.[1] ?? '0';
    const client = connect(url);
    client.socket.write('POST / HTTP/1.1\r\nhost: tcf\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
    const trickle = setInterval(() => client.socket.write('1\r\n \r\n'), 50);
    try {
      await within(client.closed, 'the trickling body is cut');
    } finally {
      clearInterval(trickle);
    }
    assert.match(client.received(), /^HTTP\/1\.1 408 /);
    await until(() => (test.node.listener!.metrics.render().match(/reason="incomplete_body"} (\d+)/)?.[1] ?? '0') !== incompleteBefore, 'the cut body is counted');
  });

  it('cuts headers sent one byte at a time after listener.headersTimeoutMs', async () => {
    const client = connect(url);
    const headers = 'POST / HTTP/1.1\r\nhost: tcf\r\n' + 'x-padding: ' + 'p'.repeat(10_000);
    let sent = 0;
    const trickle = setInterval(() => client.socket.write(headers[sent++ % headers.length]!), 20);
    try {
      await within(client.closed, 'the trickling headers are cut');
    } finally {
      clearInterval(trickle);
    }
    assert.match(client.received(), /^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive connection after listener.keepAliveTimeoutMs', async () => {
    const client = connect(url);
    client.socket.write('GET /health HTTP/1.1\r\nhost: tcf\r\n\r\n');
    await within(client.closed, 'the idle connection is closed');
    assert.match(client.received(), /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nok\n$/);
  });

  it('refuses connections past listener.maxConnections and counts them; a real client is served once idle ones time out', async () => {
    await until(() => metric('tcf_listener_open_connections') === 0, 'earlier connections are gone');
    const refusedBefore = metric('tcf_listener_connections_refused_total');
    const idle = Array.from({ length: MAX_CONNECTIONS }, () => connect(url));
    await until(() => metric('tcf_listener_open_connections') === MAX_CONNECTIONS, 'the idle connections are open');
    const refused = connect(url);
    await within(refused.closed, 'the connection over the cap is closed');
    assert.equal(refused.received(), '', 'nothing is read from or answered on a refused connection');
    assert.equal(metric('tcf_listener_connections_refused_total') - refusedBefore, 1);
    await within(Promise.all(idle.map((connection) => connection.closed)), 'the idle connections time out');
    const response = await fetch(`${url}/health`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'ok\n');
  });
});
