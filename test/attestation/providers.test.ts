/**
 * Evidence providers, end to end against stand-ins for the TEE interfaces (test/helpers/stand-in-tee.ts):
 * the simulated TEE; configfs-tsm in an SEV-SNP guest whose reports a throwaway AMD-shaped PKI signs
 * (test/helpers/synthetic-snp.ts), so the published envelope is judged by the real verifier; configfs-tsm
 * in a TDX guest and Gramine-SGX, which can only serve real Intel quotes over other report data, so there
 * the refusals are what is shown; and where DCAP collateral comes from.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, afterEach, before, describe, it } from 'node:test';
import { bindingMismatch, bindingReportData, type BoundIdentity } from '../../src/attestation/binding.ts';
import { parseDcapCollateral } from '../../src/attestation/dcap.ts';
import { decodeEvidenceEnvelope, PROOF_DATA_TYPES } from '../../src/attestation/envelope.ts';
import { StandInPccs } from '../helpers/stand-in-pccs.ts';
import {
  createEvidenceProvider,
  dcapCollateralSupplier,
  publishHardwareEvidence,
  type EvidenceProvider,
  type EvidenceProviderSettings,
} from '../../src/attestation/provider.ts';
import { GRAMINE_QUOTE_ATTEMPTS } from '../../src/attestation/provider-gramine.ts';
import { TSM_REPORT_ATTEMPTS, tsmEntryName } from '../../src/attestation/provider-tsm.ts';
import { SIMULATED_PROOF_TYPE, SimulatedTeeVerifier } from '../../src/attestation/simulated.ts';
import { verifyEvidence } from '../../src/attestation/verify.ts';
import { parseCertificates } from '../../src/attestation/x509.ts';
import { generateEncryptionKey, generateSigningKey } from '../../src/crypto/keys.ts';
import type { WorkerDetails } from '../../src/protocol/messages.ts';
import { readSample, SAMPLES_DIR } from '../helpers/attestation-samples.ts';
import { configfsTsmStandIn, configfsTsmTdxStandIn, gramineStandIn, type TsmStandIn } from '../helpers/stand-in-tee.ts';
import { syntheticSnpPlatform } from '../helpers/synthetic-snp.ts';

const SGX_QUOTE = readSample('sgx-dcap/sgx_quote');
const SGX_COLLATERAL_FILE = path.join(SAMPLES_DIR, 'sgx-dcap/sgx_quote_collateral.json');
/** The SGX sample's collateral is current on this day (the samples' README). */
const SGX_SAMPLE_AT = new Date('2025-06-20T00:00:00Z');
const TDX_QUOTE = readSample('tdx/tdx_quote');

const PROVIDER_MODULE = new URL('../../src/attestation/provider.ts', import.meta.url).href;

const signing = generateSigningKey();
const encryption = generateEncryptionKey(2048);

function identity(workerId: string, issuedAt = '2026-12-05T10:00:00.000Z'): BoundIdentity {
  return { workerId, verificationKeyPem: signing.publicKeyPem, encryptionKeyPem: encryption.publicKeyPem, issuedAt };
}

const WORKER = identity('ab'.repeat(32));

let scratch: string;
const cleanups: Array<() => Promise<void>> = [];

before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-providers-'));
});
afterEach(async () => {
  while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void>)();
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function freshDir(name: string): string {
  return fs.mkdtempSync(path.join(scratch, `${name}-`));
}

function settings(overrides: Partial<EvidenceProviderSettings>): EvidenceProviderSettings {
  return { provider: 'simulated', gramineDir: '/dev/attestation', tsmDir: '/sys/kernel/config/tsm/report', collateralFile: '', pccsUrl: '', certificatesFile: '', ...overrides };
}

/** A provider closed after the test, whatever happens in it. */
function provider(overrides: Partial<EvidenceProviderSettings>): EvidenceProvider {
  const made = createEvidenceProvider(settings(overrides));
  cleanups.push(() => made.close());
  return made;
}

/** The evidence a provider made in a separate Node process, as a worker process would. */
async function evidenceInAnotherProcess(providerSettings: EvidenceProviderSettings, bound: BoundIdentity): Promise<{ proofDataType: string; proofData: string }> {
  const script = [
    `const { createEvidenceProvider } = await import(${JSON.stringify(PROVIDER_MODULE)});`,
    'const provider = createEvidenceProvider(JSON.parse(process.argv[1]));',
    "process.stdout.write(JSON.stringify(await provider.evidence(JSON.parse(process.argv[2]), '')));",
    'await provider.close();',
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(providerSettings), JSON.stringify(bound)], {
    timeout: 30_000,
  });
  return JSON.parse(stdout) as { proofDataType: string; proofData: string };
}

function track(standIn: TsmStandIn): TsmStandIn {
  cleanups.push(() => standIn.close());
  return standIn;
}

describe('the simulated provider', () => {
  it('publishes simulated evidence that verifies and binds the identity and the measurement', async () => {
    const simulated = provider({ provider: 'simulated' });
    assert.equal(simulated.description, 'simulated');
    const measurement = 'cd'.repeat(32);
    const published = await simulated.evidence(WORKER, measurement);
    assert.equal(published.proofDataType, SIMULATED_PROOF_TYPE);
    const details = { hashingAlgorithm: 'SHA-256', signingAlgorithm: 'SECP256K1', keyEncryptionAlgorithm: 'RSA-OAEP-2048', dataEncryptionAlgorithm: 'AES-GCM-256', workerTypeData: published } as WorkerDetails;
    const { verdict, issuedAt } = await new SimulatedTeeVerifier().verify(details, { at: new Date(), collateral: { source: 'embedded' } });
    assert.equal(verdict.verified, true, verdict.reason);
    assert.equal(verdict.measurement, measurement);
    assert.equal(verdict.reportData, bindingReportData(WORKER).toString('hex'));
    assert.equal(issuedAt, WORKER.issuedAt);
    assert.equal(bindingMismatch(verdict.reportData, WORKER), undefined);
    assert.notEqual(bindingMismatch(verdict.reportData, identity('cd'.repeat(32))), undefined, 'the evidence must not bind another worker');
  });

  it('refuses an unknown provider name at creation, naming the ones there are', () => {
    assert.throws(() => createEvidenceProvider(settings({ provider: 'sgx-epid' as EvidenceProviderSettings['provider'] })), /"sgx-epid" is not one of simulated, gramine-sgx, configfs-tsm/);
  });
});

describe('configfs-tsm in an SEV-SNP guest', () => {
  const platform = syntheticSnpPlatform();

  it('publishes a report over the binding, with the certificates from auxblob, that the SEV-SNP verifier accepts', async () => {
    const tsmDir = freshDir('tsm');
    const standIn = track(configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId }));
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    const published = await tsm.evidence(WORKER, 'ignored: the TEE measures');
    assert.equal(tsm.description, 'configfs-tsm (sev_guest)');
    assert.equal(published.proofDataType, PROOF_DATA_TYPES['sev-snp']);
    assert.deepEqual(standIn.inblobs, [bindingReportData(WORKER)]);

    const envelope = decodeEvidenceEnvelope(published.proofDataType, published.proofData);
    assert.equal(envelope.type, 'sev-snp');
    assert.equal(envelope.issuedAt, WORKER.issuedAt);
    assert.deepEqual(
      parseCertificates(envelope.certificates as string).map((certificate) => certificate.raw),
      platform.certificates.map((certificate) => certificate.raw),
      'VCEK, ASK and ARK from the certificate table, VCEK first',
    );
    const verdict = verifyEvidence('sev-snp', { evidence: envelope.evidence, certificates: envelope.certificates }, { at: platform.at, roots: { amdArks: platform.arks } });
    assert.equal(verdict.verified, true, verdict.reason);
    assert.equal(verdict.reportData, bindingReportData(WORKER).toString('hex'));
    assert.equal(bindingMismatch(verdict.reportData, WORKER), undefined);
  });

  it('serves worker processes through the FIFOs, two at once on one entry as a worker\'s processes start', async () => {
    const tsmDir = freshDir('tsm');
    const standIn = track(configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId }));
    const identities = [WORKER, identity(WORKER.workerId, '2026-12-05T10:00:01.000Z')];
    const published = await Promise.all(identities.map((each) => evidenceInAnotherProcess(settings({ provider: 'configfs-tsm', tsmDir }), each)));
    published.forEach((each, index) => {
      const verdict = verifyEvidence('sev-snp', decodeEvidenceEnvelope(each.proofDataType, each.proofData), { at: platform.at, roots: { amdArks: platform.arks } });
      assert.equal(verdict.verified, true, verdict.reason);
      assert.equal(bindingMismatch(verdict.reportData, identities[index] as BoundIdentity), undefined);
    });
    assert.ok(standIn.inblobs.length >= identities.length);
  });

  it('serialises concurrent requests on one entry, each getting the report over its own binding', async () => {
    const tsmDir = freshDir('tsm');
    const standIn = track(configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId }));
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    const identities = ['2026-12-05T10:00:00.000Z', '2026-12-05T10:00:01.000Z', '2026-12-05T10:00:02.000Z'].map((at) => identity(WORKER.workerId, at));
    const published = await Promise.all(identities.map((each) => tsm.evidence(each, '')));
    assert.equal(standIn.inblobs.length, identities.length, 'one write per request: no request was spoiled and retried');
    published.forEach((each, index) => {
      const envelope = decodeEvidenceEnvelope(each.proofDataType, each.proofData);
      const verdict = verifyEvidence('sev-snp', envelope, { at: platform.at, roots: { amdArks: platform.arks } });
      assert.equal(verdict.verified, true, verdict.reason);
      assert.equal(bindingMismatch(verdict.reportData, identities[index] as BoundIdentity), undefined);
    });
  });

  it('retries when generation shows another writer, then refuses clearly', async () => {
    const tsmDir = freshDir('tsm');
    const standIn = track(configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId, generationStep: 2 }));
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    await assert.rejects(
      tsm.evidence(WORKER, ''),
      /no report of .*tcf-abababababababab was ours in 4 attempts \(generation 0 → 2; generation 2 → 4; generation 4 → 6; generation 6 → 8\): our write moves generation by exactly 1, so more means another writer/,
    );
    assert.equal(standIn.inblobs.length, TSM_REPORT_ATTEMPTS);
  });

  it('names a write the kernel did not take (generation unmoved: configfs drops the driver\'s error at close)', async () => {
    const tsmDir = freshDir('tsm');
    track(configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId, generationStep: 0 }));
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    await assert.rejects(tsm.evidence(WORKER, ''), /\(generation 0 unmoved: the write was not taken; generation 0 unmoved: the write was not taken; .*\)/);
  });

  it('refuses when the host supplies no certificates and no certificatesFile is set: the VCEK is needed', async () => {
    const tsmDir = freshDir('tsm');
    track(configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId, emptyAuxblob: true }));
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    await assert.rejects(tsm.evidence(WORKER, ''), /supplied no SEV-SNP certificates \(.*auxblob is empty\) and enclave\.attestation\.certificatesFile is not set: a requester cannot judge a report without its VCEK/);
  });

  it('uses certificatesFile when auxblob is empty', async () => {
    const tsmDir = freshDir('tsm');
    track(configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId, emptyAuxblob: true }));
    const certificatesFile = path.join(freshDir('certs'), 'vcek-ask-ark.pem');
    fs.writeFileSync(certificatesFile, platform.certificatesPem);
    const tsm = provider({ provider: 'configfs-tsm', tsmDir, certificatesFile });
    const published = await tsm.evidence(WORKER, '');
    const envelope = decodeEvidenceEnvelope(published.proofDataType, published.proofData);
    assert.deepEqual(
      parseCertificates(envelope.certificates as string).map((certificate) => certificate.raw),
      platform.certificates.map((certificate) => certificate.raw),
    );
    const verdict = verifyEvidence('sev-snp', envelope, { at: platform.at, roots: { amdArks: platform.arks } });
    assert.equal(verdict.verified, true, verdict.reason);
  });

  it('refuses a certificatesFile without certificates at creation', () => {
    const certificatesFile = path.join(freshDir('certs'), 'empty.pem');
    fs.writeFileSync(certificatesFile, 'not a certificate\n');
    assert.throws(() => createEvidenceProvider(settings({ provider: 'configfs-tsm', tsmDir: freshDir('tsm'), certificatesFile })), /certificatesFile .*empty\.pem holds no PEM certificate/);
  });

  it('asks for reports at the VMPL the guest announces in privlevel_floor', async () => {
    const tsmDir = freshDir('tsm');
    const standIn = track(configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId, privlevelFloor: 2 }));
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    await tsm.evidence(WORKER, '');
    assert.equal(fs.readFileSync(path.join(standIn.entryDir, 'privlevel'), 'latin1'), '2');
  });

  it('leaves an entry it did not make, and removes one it made', async () => {
    const tsmDir = freshDir('tsm');
    const standIn = configfsTsmStandIn(tsmDir, platform, { workerId: WORKER.workerId });
    const tsm = createEvidenceProvider(settings({ provider: 'configfs-tsm', tsmDir }));
    await tsm.evidence(WORKER, '');
    const other = identity('cd'.repeat(32));
    await assert.rejects(tsm.evidence(other, ''), /cannot read .*tcf-cdcdcdcdcdcdcdcd\/provider \(ENOENT\): no TSM driver is registered/);
    assert.ok(fs.existsSync(path.join(tsmDir, tsmEntryName(other.workerId))), 'made for the request');
    await tsm.close();
    await standIn.close();
    assert.ok(fs.existsSync(standIn.entryDir), 'the pre-made entry stays');
    assert.equal(fs.existsSync(path.join(tsmDir, tsmEntryName(other.workerId))), false, 'the entry it made is gone');
  });
});

describe('configfs-tsm: what is not an SEV-SNP guest', () => {
  it('refuses a kernel provider other than tdx_guest and sev_guest, naming it', async () => {
    const tsmDir = freshDir('tsm');
    const entry = path.join(tsmDir, tsmEntryName(WORKER.workerId));
    fs.mkdirSync(entry);
    fs.writeFileSync(path.join(entry, 'provider'), 'arm_cca_guest\n');
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    await assert.rejects(tsm.evidence(WORKER, ''), /names "arm_cca_guest"; TCF reads tdx_guest \(Intel TDX\) and sev_guest \(AMD SEV-SNP\) reports only/);
  });

  it('refuses to start where there is no configfs-tsm', () => {
    assert.throws(() => createEvidenceProvider(settings({ provider: 'configfs-tsm', tsmDir: path.join(scratch, 'missing') })), /is not a directory: this is not a TDX or SEV-SNP guest, its kernel is older than 6\.7/);
  });

  it('TDX: writes the binding, reads the quote, and refuses it because Intel signed other report data', async () => {
    const tsmDir = freshDir('tsm');
    const standIn = track(configfsTsmTdxStandIn(tsmDir, TDX_QUOTE, { workerId: WORKER.workerId }));
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    await assert.rejects(tsm.evidence(WORKER, ''), /the TDX quote carries report data [0-9a-f]{16}…, not this worker's binding [0-9a-f]{16}…/);
    assert.equal(tsm.description, 'configfs-tsm (tdx_guest)');
    assert.deepEqual(standIn.inblobs, [bindingReportData(WORKER)], 'refused at once: the generation check already ruled out a race');
  });

  it('TDX: refuses an SGX quote from a tdx_guest entry', async () => {
    const tsmDir = freshDir('tsm');
    track(configfsTsmTdxStandIn(tsmDir, SGX_QUOTE, { workerId: WORKER.workerId }));
    const tsm = provider({ provider: 'configfs-tsm', tsmDir });
    await assert.rejects(tsm.evidence(WORKER, ''), /the tdx_guest outblob is an SGX quote, not a TDX one/);
  });
});

describe('Gramine-SGX', () => {
  it('writes the binding to user_report_data and refuses a quote over other report data after retrying', async () => {
    const standIn = gramineStandIn(freshDir('gramine'), SGX_QUOTE);
    const gramine = provider({ provider: 'gramine-sgx', gramineDir: standIn.dir });
    assert.equal(gramine.description, 'gramine-sgx');
    await assert.rejects(
      gramine.evidence(WORKER, ''),
      new RegExp(`quote carried report data [0-9a-f]{16}…, not this worker's binding [0-9a-f]{16}…, in each of ${GRAMINE_QUOTE_ATTEMPTS} attempts: something else in this process writes .*user_report_data`),
    );
    assert.deepEqual(standIn.userReportData(), bindingReportData(WORKER));
  });

  it('refuses EPID at creation, saying IAS has reached end of life', () => {
    const standIn = gramineStandIn(freshDir('gramine'), SGX_QUOTE, 'epid');
    assert.throws(() => createEvidenceProvider(settings({ provider: 'gramine-sgx', gramineDir: standIn.dir })), /"epid": EPID quotes are judged only by Intel's Attestation Service \(IAS\), which has reached end of life/);
  });

  it('refuses attestation type none at creation', () => {
    const standIn = gramineStandIn(freshDir('gramine'), SGX_QUOTE, 'none');
    assert.throws(() => createEvidenceProvider(settings({ provider: 'gramine-sgx', gramineDir: standIn.dir })), /"none", not "dcap": the enclave cannot produce quotes/);
  });

  it('refuses to start outside Gramine', () => {
    assert.throws(() => createEvidenceProvider(settings({ provider: 'gramine-sgx', gramineDir: path.join(scratch, 'missing') })), /attestation_type \(ENOENT\): is this worker running inside Gramine-SGX\?/);
  });

  it('refuses a TDX quote where an SGX one belongs', async () => {
    const standIn = gramineStandIn(freshDir('gramine'), TDX_QUOTE);
    const gramine = provider({ provider: 'gramine-sgx', gramineDir: standIn.dir });
    await assert.rejects(gramine.evidence(WORKER, ''), /Gramine's quote is a TDX quote, not an SGX enclave quote/);
  });
});

describe('DCAP collateral beside the quote', () => {
  it('refuses a collateral file that is not JSON when the provider is made', () => {
    const collateralFile = path.join(freshDir('collateral'), 'broken.json');
    fs.writeFileSync(collateralFile, '{"pck_crl": ');
    const standIn = gramineStandIn(freshDir('gramine'), SGX_QUOTE);
    assert.throws(() => createEvidenceProvider(settings({ provider: 'gramine-sgx', gramineDir: standIn.dir, collateralFile })), /collateralFile .*broken\.json is not Intel's DCAP collateral JSON: DCAP collateral is not JSON/);
  });

  it('refuses a collateral file that cannot be read', () => {
    const standIn = gramineStandIn(freshDir('gramine'), SGX_QUOTE);
    assert.throws(() => createEvidenceProvider(settings({ provider: 'gramine-sgx', gramineDir: standIn.dir, collateralFile: path.join(scratch, 'absent.json') })), /cannot read the DCAP collateral file .*absent\.json/);
  });

  it('refuses both a collateral file and a PCCS', () => {
    assert.throws(() => dcapCollateralSupplier({ collateralFile: SGX_COLLATERAL_FILE, pccsUrl: 'https://pccs.example:8081' }), /names both collateralFile and pccsUrl: set one/);
  });

  it('embeds the collateral file in the envelope, where it judges the quote', async () => {
    const published = await publishHardwareEvidence({ type: 'sgx-dcap', evidence: SGX_QUOTE }, WORKER.issuedAt, dcapCollateralSupplier({ collateralFile: SGX_COLLATERAL_FILE, pccsUrl: '' }));
    assert.equal(published.proofDataType, PROOF_DATA_TYPES['sgx-dcap']);
    const envelope = decodeEvidenceEnvelope(published.proofDataType, published.proofData);
    assert.deepEqual(envelope.collateral, parseDcapCollateral(fs.readFileSync(SGX_COLLATERAL_FILE, 'utf8')));
    assert.ok(envelope.evidence.equals(SGX_QUOTE));
    const verdict = verifyEvidence('sgx-dcap', envelope, { at: SGX_SAMPLE_AT });
    assert.equal(verdict.verified, true, verdict.reason);
  });

  it('fetches the collateral from the PCCS for each quote', async () => {
    const collateral = parseDcapCollateral(fs.readFileSync(SGX_COLLATERAL_FILE, 'utf8'));
    const pccs = await StandInPccs.start([{ quote: SGX_QUOTE, collateral }]);
    cleanups.push(() => pccs.close());
    const supplier = dcapCollateralSupplier({ collateralFile: '', pccsUrl: pccs.baseUrl });
    const published = await publishHardwareEvidence({ type: 'sgx-dcap', evidence: SGX_QUOTE }, WORKER.issuedAt, supplier);
    await publishHardwareEvidence({ type: 'sgx-dcap', evidence: SGX_QUOTE }, WORKER.issuedAt, supplier);
    const envelope = decodeEvidenceEnvelope(published.proofDataType, published.proofData);
    assert.equal(verifyEvidence('sgx-dcap', envelope, { at: SGX_SAMPLE_AT }).verified, true);
    assert.equal(pccs.requests.filter((request) => request.includes('/tcb?')).length, 2, 'asked once per quote');
  });

  it('publishes a quote without collateral when none is configured, and never asks for SEV-SNP', async () => {
    const none = await publishHardwareEvidence({ type: 'tdx', evidence: TDX_QUOTE }, WORKER.issuedAt, dcapCollateralSupplier({ collateralFile: '', pccsUrl: '' }));
    assert.equal(decodeEvidenceEnvelope(none.proofDataType, none.proofData).collateral, undefined);
    const platform = syntheticSnpPlatform();
    const report = platform.report(bindingReportData(WORKER));
    const snp = await publishHardwareEvidence({ type: 'sev-snp', evidence: report, certificates: platform.certificatesPem }, WORKER.issuedAt, () => {
      throw new Error('collateral asked for an SEV-SNP report');
    });
    assert.equal(decodeEvidenceEnvelope(snp.proofDataType, snp.proofData).collateral, undefined);
  });
});
