/**
 * Hardware evidence end to end, on a stand-in TEE: a node configured with the configfs-tsm provider
 * starts its worker processes; each asks a directory shaped like Linux's configfs-tsm (served by the
 * synthetic SEV-SNP platform, test/helpers/synthetic-snp.ts) for a report over its binding; the manager
 * registers the worker with that evidence; a requester trusts it only under a policy naming its
 * measurement and the platform's (test) ARK, and then runs a work order on it. A key rotation publishes
 * fresh evidence for the new key. The Gramine and TDX stand-ins can only serve quotes Intel signed over
 * other data, so there the node must refuse to start its worker, saying why.
 * The hardware providers are untested on real hardware (docs/attestation.md).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeEvidenceEnvelope } from '../../src/attestation/envelope.ts';
import { HARDWARE_ONLY_POLICY, parseTrustPolicy } from '../../src/attestation/policy.ts';
import { UntrustedWorkerError } from '../../src/attestation/worker-trust.ts';
import { TcfClient } from '../../src/client/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { workerIdForName } from '../../src/manager/manager.ts';
import { startNode } from '../../src/node/index.ts';
import { readSample } from '../helpers/attestation-samples.ts';
import { startTestNode, type TestNode } from '../helpers/in-process-node.ts';
import { tempDir } from '../helpers/node-process.ts';
import { configfsTsmStandIn, configfsTsmTdxStandIn, gramineStandIn, type TsmStandIn } from '../helpers/stand-in-tee.ts';
import { syntheticSnpPlatform } from '../helpers/synthetic-snp.ts';

/** SEV-SNP ATTESTATION_REPORT: MEASUREMENT is 48 bytes at 0x90, REPORT_DATA 64 bytes at 0x50. */
const measurementOf = (report: Buffer) => report.subarray(0x90, 0x90 + 48).toString('hex');
const reportDataOf = (report: Buffer) => report.subarray(0x50, 0x50 + 64).toString('hex');

describe('a worker on a (stand-in) SEV-SNP guest, end to end', () => {
  const platform = syntheticSnpPlatform('Milan');
  const workerId = workerIdForName('snp-worker');
  const tsmDir = tempDir('tsm');
  let standIn: TsmStandIn;
  let test: TestNode;

  before(async () => {
    standIn = configfsTsmStandIn(tsmDir, platform, { workerId });
    test = await startTestNode('snp-e2e', {
      workers: { names: ['snp-worker'], processesPerWorker: 2 },
      enclave: { attestation: { provider: 'configfs-tsm', tsmDir } },
    });
  });

  after(async () => {
    await test.stop();
    await standIn.close();
    fs.rmSync(tsmDir, { recursive: true, force: true });
  });

  async function publishedReport(): Promise<Buffer> {
    const data = (await test.client.getWorker(workerId)).details.workerTypeData;
    assert.equal(data.proofDataType, 'TCF-SEV-SNP');
    return decodeEvidenceEnvelope(data.proofDataType!, data.proofData!).evidence;
  }

  it('registers the worker with the report the guest made over its binding', async () => {
    const report = await publishedReport();
    assert.ok(standIn.inblobs.some((inblob) => inblob.toString('hex') === reportDataOf(report)), 'the published report is one the stand-in made for a worker request');
  });

  it('is trusted under a policy pinning its measurement and the platform root, and runs a work order', async () => {
    const measurement = measurementOf(await publishedReport());
    const policy = parseTrustPolicy({ acceptedTypes: ['sev-snp'], measurements: { 'sev-snp': [measurement] } });
    const client = new TcfClient(test.node.url, { trustPolicy: policy, attestationRoots: { amdArks: platform.arks } });
    const trusted = await client.trustedWorker(workerId);
    assert.equal(trusted.evidence.simulated, false);
    assert.equal(trusted.evidence.verdict.type, 'sev-snp');
    assert.equal(trusted.evidence.measurement, measurement);
    const result = await client.run({ workerId, workload: 'echo-result', inputs: ['attested'], responseTimeoutMs: 20_000 });
    assert.equal(result.outData[0]!.data.toString(), 'RESULT: attested');
  });

  it('is refused under a policy naming other code, and against AMD\'s real roots (the stand-in is not AMD)', async () => {
    const other = parseTrustPolicy({ acceptedTypes: ['sev-snp'], measurements: { 'sev-snp': ['00'.repeat(48)] } });
    const pinnedElsewhere = new TcfClient(test.node.url, { trustPolicy: other, attestationRoots: { amdArks: platform.arks } });
    await assert.rejects(pinnedElsewhere.trustedWorker(workerId), (error: unknown) => error instanceof UntrustedWorkerError && /not in the policy's allowed measurements/.test(error.message));
    const realRoots = new TcfClient(test.node.url, { trustPolicy: HARDWARE_ONLY_POLICY });
    await assert.rejects(realRoots.trustedWorker(workerId), (error: unknown) => error instanceof UntrustedWorkerError && /not genuine/.test(error.message));
  });

  it('publishes fresh evidence with a rotated key, so the worker stays trusted on its new key', async () => {
    const before = await publishedReport();
    const rotated = await test.node.manager!.rotateEncryptionKey(workerId);
    const after = await publishedReport();
    assert.notEqual(reportDataOf(after), reportDataOf(before));
    const policy = parseTrustPolicy({ acceptedTypes: ['sev-snp'], measurements: { 'sev-snp': 'any' } });
    const client = new TcfClient(test.node.url, { trustPolicy: policy, attestationRoots: { amdArks: platform.arks } });
    const trusted = await client.trustedWorker(workerId);
    assert.equal(trusted.keys.encryptionKeyPem, rotated.encryptionKeyPem);
    const result = await client.run({ workerId, workload: 'echo-result', inputs: ['rotated'], responseTimeoutMs: 20_000 });
    assert.equal(result.outData[0]!.data.toString(), 'RESULT: rotated');
  });
});

describe('TEEs whose stand-ins serve quotes Intel signed over other data', () => {
  async function startFailure(name: string, attestation: Record<string, string>): Promise<string> {
    const dataDir = tempDir(name);
    try {
      const config = loadConfig({ env: {}, overrides: { dataDir, listener: { port: 0 }, workers: { names: [name], processesPerWorker: 1 }, enclave: { rsaBits: 2048, attestation } } });
      const node = await startNode(config, createLogger('test', { level: 'silent' }));
      await node.stop();
      return '';
    } catch (error) {
      return (error as Error).message;
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('Gramine SGX: the worker does not start, and says its quote does not bind it', async () => {
    const dir = tempDir('gramine');
    gramineStandIn(dir, readSample('sgx-dcap/sgx_quote'));
    const message = await startFailure('gramine-worker', { provider: 'gramine-sgx', gramineDir: dir });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.match(message, /report data/i, message);
  });

  it('TDX over configfs-tsm: the worker does not start, and says its quote does not bind it', async () => {
    const tsmDir = tempDir('tsm-tdx');
    const standIn = configfsTsmTdxStandIn(tsmDir, readSample('tdx/tdx_quote'), { workerId: workerIdForName('tdx-worker') });
    const message = await startFailure('tdx-worker', { provider: 'configfs-tsm', tsmDir });
    await standIn.close();
    fs.rmSync(tsmDir, { recursive: true, force: true });
    assert.match(message, /report data/i, message);
  });
});
