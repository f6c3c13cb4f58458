/**
 * GET /metrics on a real node: the enclave manager's and the service's figures count exactly the work
 * orders that went through, and the histograms are well-formed Prometheus histograms.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RpcCallError } from '../../src/client/index.js';
import { ErrorCode } from '../../src/protocol/index.js';
import { startTestNode, type TestNode } from '../helpers/in-process-node.js';

/** Every sample of the text format, by series (name with its labels). */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

function assertHistogram(values: Map<string, number>, name: string, count: number): void {
  assert.equal(values.get(`${name}_count`), count, `${name} counted every observation`);
  assert.equal(values.get(`${name}_bucket{le="+Inf"}`), count);
  assert.ok(values.get(`${name}_sum`)! > 0, `${name} summed real durations`);
  const buckets = [...values].filter(([series]) => series.startsWith(`${name}_bucket{`)).map(([, value]) => value);
  assert.ok(buckets.length > 2);
  buckets.forEach((value, index) => assert.ok(index === 0 || value >= buckets[index - 1]!, `${name} buckets are cumulative`));
}

describe('node metrics', () => {
  let test: TestNode;

  before(async () => {
    test = await startTestNode('metrics');
  });

  after(() => test.stop());

  it('counts work orders by outcome and times the worker round trip and both commits', async () => {
    const { client, workerId, node } = test;
    for (const text of ['one', 'two', 'three']) {
      const result = await client.run({ workerId, workload: 'echo-result', inputs: [text], responseTimeoutMs: 10_000 });
      assert.equal(result.outData[0]!.data.toString(), `RESULT: ${text}`);
    }
    await assert.rejects(client.run({ workerId, workload: 'no-such-workload', inputs: ['x'], responseTimeoutMs: 10_000 }), (error: unknown) => {
      assert.ok(error instanceof RpcCallError);
      assert.equal(error.code, ErrorCode.INVALID_WORKLOAD);
      return true;
    });

    const unparsable = await fetch(node.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(unparsable.status, 200, 'a JSON-RPC parse error is still a JSON-RPC answer');
    await unparsable.text();

    const response = await fetch(`${node.url}/metrics`);
    assert.equal(response.status, 200);
    const values = samples(await response.text());
    assert.equal(values.get('tcf_work_orders_total{outcome="completed"}'), 3);
    assert.equal(values.get('tcf_work_orders_total{outcome="failed"}'), 1);
    assert.equal(values.get('tcf_work_orders_total{outcome="lost"}'), undefined);
    assert.equal(values.get('tcf_worker_process_replacements_total'), 0);
    assert.equal(values.get('tcf_work_orders_requeued_total'), 0);
    assertHistogram(values, 'tcf_worker_round_trip_seconds', 4);
    assertHistogram(values, 'tcf_outcome_commit_seconds', 4);
    assertHistogram(values, 'tcf_submission_commit_seconds', 4);
    assert.equal(values.get('tcf_rpc_calls_total{method="WorkOrderSubmit",outcome="ok"}'), 3, 'the listener\'s own lines are still there');
    assert.equal(values.get('tcf_listener_rejections_total{reason="parse_errors"}'), 1);
  });
});
