/**
 * `tcf attestation verify` through the real binary on real published evidence: exit 0 and a verdict
 * whose measurement matches the bytes at the vendor's offsets when judged at the evidence's own time;
 * exit 4 with the reason when judged today, after a changed byte, or under a policy it does not meet;
 * exit 2 for a usage mistake.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SAMPLES_DIR, readSample, flipByte } from '../helpers/attestation-samples.ts';
import { tcf, tempDir } from '../helpers/node-process.ts';

const SGX_QUOTE = path.join(SAMPLES_DIR, 'sgx-dcap/sgx_quote');
const SGX_COLLATERAL = path.join(SAMPLES_DIR, 'sgx-dcap/sgx_quote_collateral.json');
const SGX_AT = '2025-06-20T00:00:00Z';
/** SGX quote v3: a 48-byte header, then the enclave report, whose MRENCLAVE is at offset 64 and MRSIGNER at 128. */
const SGX_MRENCLAVE = readSample('sgx-dcap/sgx_quote').subarray(48 + 64, 48 + 96).toString('hex');
const SGX_MRSIGNER = readSample('sgx-dcap/sgx_quote').subarray(48 + 128, 48 + 160).toString('hex');

interface JsonVerdict {
  verified: boolean;
  type: string;
  reason: string;
  judgedAt: string;
  measurement: string;
  measurements: Record<string, string>;
  reportData: string;
  tcbStatus: string;
  debug: boolean;
  advisoryIds: string[];
  policy?: { passed: boolean; reasons: string[] };
}

describe('tcf attestation verify', () => {
  const dir = tempDir('attestation-cli');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  };

  it('verifies the real SGX DCAP quote at its time, with its measurement read from the quote bytes', async () => {
    const run = await tcf(['attestation', 'verify', '--type', 'sgx-dcap', '--evidence', SGX_QUOTE, '--collateral', SGX_COLLATERAL, '--at', SGX_AT, '--json'], {});
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const verdict = JSON.parse(run.stdout) as JsonVerdict;
    assert.equal(verdict.verified, true);
    assert.equal(verdict.type, 'sgx-dcap');
    assert.equal(verdict.judgedAt, '2025-06-20T00:00:00.000Z');
    assert.equal(verdict.measurement, SGX_MRENCLAVE);
    assert.equal(verdict.measurements.mrSigner, SGX_MRSIGNER);
    assert.equal(verdict.tcbStatus, 'ConfigurationAndSWHardeningNeeded');
    assert.deepEqual(verdict.advisoryIds, ['INTEL-SA-00289', 'INTEL-SA-00615']);
    assert.equal(verdict.reportData, readSample('sgx-dcap/sgx_quote').subarray(48 + 320, 48 + 384).toString('hex'));

    const human = await tcf(['attestation', 'verify', '--type', 'sgx-dcap', '--evidence', SGX_QUOTE, '--collateral', SGX_COLLATERAL, '--at', SGX_AT], {});
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^sgx-dcap: VERIFIED\n/);
    assert.match(human.stdout, new RegExp(`measurement ${SGX_MRENCLAVE}\n`));
  });

  it('refuses the same quote today (its collateral has expired) with exit 4 and the reason', async () => {
    const run = await tcf(['attestation', 'verify', '--type', 'sgx-dcap', '--evidence', SGX_QUOTE, '--collateral', SGX_COLLATERAL, '--json'], {});
    assert.equal(run.code, 4, run.stderr);
    const verdict = JSON.parse(run.stdout) as JsonVerdict;
    assert.equal(verdict.verified, false);
    assert.match(verdict.reason, /expired|nextUpdate|not valid/i);
  });

  it('refuses a quote with one byte changed', async () => {
    const changed = write('changed-quote', flipByte(readSample('sgx-dcap/sgx_quote'), 48 + 70));
    const run = await tcf(['attestation', 'verify', '--type', 'sgx-dcap', '--evidence', changed, '--collateral', SGX_COLLATERAL, '--at', SGX_AT, '--json'], {});
    assert.equal(run.code, 4, run.stderr);
    assert.equal((JSON.parse(run.stdout) as JsonVerdict).verified, false);
  });

  it('judges under a policy file: the sample passes a policy pinning its MRENCLAVE and fails the default TCB minimum', async () => {
    const pinned = write('pinned.json', JSON.stringify({ acceptedTypes: ['sgx-dcap'], measurements: { 'sgx-dcap': [SGX_MRENCLAVE] }, minimumTcbStatus: 'ConfigurationAndSWHardeningNeeded' }));
    const passing = await tcf(['attestation', 'verify', '--type', 'sgx-dcap', '--evidence', SGX_QUOTE, '--collateral', SGX_COLLATERAL, '--at', SGX_AT, '--policy', pinned, '--json'], {});
    assert.equal(passing.code, 0, passing.stdout);
    assert.deepEqual((JSON.parse(passing.stdout) as JsonVerdict).policy, { passed: true, reasons: [] });

    const strict = write('strict.json', JSON.stringify({ acceptedTypes: ['sgx-dcap'], measurements: { 'sgx-dcap': [SGX_MRENCLAVE] } }));
    const refused = await tcf(['attestation', 'verify', '--type', 'sgx-dcap', '--evidence', SGX_QUOTE, '--collateral', SGX_COLLATERAL, '--at', SGX_AT, '--policy', strict], {});
    assert.equal(refused.code, 4);
    assert.match(refused.stdout, /^sgx-dcap: VERIFIED\n/, 'genuine evidence, refused by policy only');
    assert.match(refused.stdout, /refused by the policy .*strict.json:\n {2}- TCB status ConfigurationAndSWHardeningNeeded is worse than the policy's minimum UpToDate/);
  });

  it('verifies a real AWS Nitro document given as base64 text, at its own timestamp', async () => {
    const run = await tcf(['attestation', 'verify', '--type', 'nitro', '--evidence', path.join(SAMPLES_DIR, 'nitro/nitro_attestation.b64'), '--at', '2024-09-07T14:40:00Z', '--json'], {});
    assert.equal(run.code, 0, run.stdout);
    const verdict = JSON.parse(run.stdout) as JsonVerdict;
    assert.equal(verdict.type, 'nitro');
    assert.equal(verdict.verified, true);
    assert.match(verdict.measurement, /^[0-9a-f]{96}$/);
  });

  it('verifies the real SEV-SNP report (hex) with a lone DER VCEK or a PEM bundle, and refuses it with another chip\'s VCEK', async () => {
    const report = path.join(SAMPLES_DIR, 'sev-snp/report_milan.hex');
    const raw = Buffer.from(readSample('sev-snp/report_milan.hex').toString().trim(), 'hex');
    const vcekDer = readSample('sev-snp/vcek_milan.der');
    const at = new Date(new Date(new crypto.X509Certificate(vcekDer).validFrom).getTime() + 86_400_000).toISOString();
    const lone = await tcf(['attestation', 'verify', '--type', 'sev-snp', '--evidence', report, '--certs', path.join(SAMPLES_DIR, 'sev-snp/vcek_milan.der'), '--at', at, '--json'], {});
    assert.equal(lone.code, 0, lone.stdout);
    const verdict = JSON.parse(lone.stdout) as JsonVerdict;
    assert.equal(verdict.measurement, raw.subarray(0x90, 0x90 + 48).toString('hex'));
    assert.equal(verdict.reportData, raw.subarray(0x50, 0x50 + 64).toString('hex'));
    assert.equal(verdict.tcbStatus, 'NotApplicable');
    const bundle = write('milan-bundle.pem', new crypto.X509Certificate(vcekDer).toString() + readSample('sev-snp/cert_chain_milan').toString());
    const fromBundle = await tcf(['attestation', 'verify', '--type', 'sev-snp', '--evidence', report, '--certs', bundle, '--at', at, '--json'], {});
    assert.equal(fromBundle.code, 0, fromBundle.stdout);
    const otherChip = await tcf(['attestation', 'verify', '--type', 'sev-snp', '--evidence', report, '--certs', path.join(SAMPLES_DIR, 'sev-snp/vcek.testcer'), '--at', at, '--json'], {});
    assert.equal(otherChip.code, 4, otherChip.stdout);
    const noCerts = await tcf(['attestation', 'verify', '--type', 'sev-snp', '--evidence', report, '--at', at, '--json'], {});
    assert.equal(noCerts.code, 4);
    assert.match((JSON.parse(noCerts.stdout) as JsonVerdict).reason, /needs its VCEK/);
  });

  it('refuses a DCAP quote without collateral, naming what is missing', async () => {
    const run = await tcf(['attestation', 'verify', '--type', 'sgx-dcap', '--evidence', SGX_QUOTE, '--at', SGX_AT, '--json'], {});
    assert.equal(run.code, 4);
    assert.match((JSON.parse(run.stdout) as JsonVerdict).reason, /needs its collateral/);
  });

  it('refuses a TDX quote announced as SGX', async () => {
    const run = await tcf(['attestation', 'verify', '--type', 'sgx-dcap', '--evidence', path.join(SAMPLES_DIR, 'tdx/tdx_quote'), '--collateral', path.join(SAMPLES_DIR, 'tdx/tdx_quote_collateral.json'), '--at', SGX_AT, '--json'], {});
    assert.equal(run.code, 4);
    assert.match((JSON.parse(run.stdout) as JsonVerdict).reason, /TDX quote, announced as sgx-dcap/);
  });

  it('answers usage mistakes with exit 2: unknown type, bad time, missing file, bad policy', async () => {
    const unknownType = await tcf(['attestation', 'verify', '--type', 'sgx', '--evidence', SGX_QUOTE], {});
    assert.equal(unknownType.code, 2);
    assert.match(unknownType.stderr, /one of sgx-dcap, tdx, sev-snp, nitro, ias/);
    assert.equal((await tcf(['attestation', 'verify', '--type', 'nitro', '--evidence', SGX_QUOTE, '--at', 'yesterday'], {})).code, 2);
    const missing = await tcf(['attestation', 'verify', '--type', 'nitro', '--evidence', path.join(dir, 'absent-' + crypto.randomUUID())], {});
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the evidence/);
    const typo = write('typo.json', JSON.stringify({ acceptedTypes: ['nitro'], measurements: { nitro: 'any' }, alowDebug: true }));
    const badPolicy = await tcf(['attestation', 'verify', '--type', 'nitro', '--evidence', SGX_QUOTE, '--policy', typo], {});
    assert.equal(badPolicy.code, 2);
    assert.match(badPolicy.stderr, /unknown policy fields: alowDebug/);
  });
});
