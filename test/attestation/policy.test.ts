/**
 * Trust policies: the JSON format is strict (a typo is an error, never a weaker policy), and each rule
 * refuses a verdict for its own reason — on real verdicts of the SGX sample where the rule can be shown
 * on real evidence, on verdicts built here where it cannot (a debug or revoked platform).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDcapCollateral, verifyDcapQuote } from '../../src/attestation/dcap.ts';
import { DEVELOPMENT_POLICY, HARDWARE_ONLY_POLICY, parseTrustPolicy, policyRefusals, PolicyError, type TrustPolicy } from '../../src/attestation/policy.ts';
import { emptyVerdict, type Verdict } from '../../src/attestation/verdict.ts';
import { verifyEvidence } from '../../src/attestation/verify.ts';
import { readSample } from '../helpers/attestation-samples.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/attestation');

const SGX_AT = new Date('2025-06-20T00:00:00Z');
const sgxVerdict = verifyDcapQuote(readSample('sgx-dcap/sgx_quote'), parseDcapCollateral(readSample('sgx-dcap/sgx_quote_collateral.json').toString()), { at: SGX_AT });

function verdict(overrides: Partial<Verdict>): Verdict {
  return { ...emptyVerdict('sgx-dcap', SGX_AT), verified: true, measurement: 'aa'.repeat(32), signer: 'bb'.repeat(32), tcbStatus: 'UpToDate', ...overrides };
}

function policy(json: object): TrustPolicy {
  return parseTrustPolicy(JSON.stringify(json));
}

describe('trust policy files', () => {
  it('reads a full policy, lowercasing hex and trimming the PCCS URL', () => {
    const parsed = policy({
      acceptedTypes: ['sgx-dcap', 'tdx'],
      measurements: { 'sgx-dcap': ['AB'.repeat(32)], tdx: [{ mrTd: 'CD'.repeat(48), rtmr0: 'ef'.repeat(48) }] },
      signers: { 'sgx-dcap': ['12'.repeat(32)] },
      minimumTcbStatus: 'SWHardeningNeeded',
      allowedAdvisoryIds: ['INTEL-SA-00615'],
      allowDebug: false,
      maxEvidenceAgeSeconds: 86400,
      collateral: { source: 'pccs', url: 'https://pccs.example:8081/' },
    });
    assert.deepEqual(parsed, {
      acceptedTypes: ['sgx-dcap', 'tdx'],
      measurements: { 'sgx-dcap': ['ab'.repeat(32)], tdx: [{ mrTd: 'cd'.repeat(48), rtmr0: 'ef'.repeat(48) }] },
      signers: { 'sgx-dcap': ['12'.repeat(32)] },
      minimumTcbStatus: 'SWHardeningNeeded',
      allowedAdvisoryIds: ['INTEL-SA-00615'],
      allowDebug: false,
      maxEvidenceAgeSeconds: 86400,
      collateral: { source: 'pccs', url: 'https://pccs.example:8081' },
    });
  });

  it('defaults to the strict choices: UpToDate, no debug, embedded collateral', () => {
    assert.deepEqual(policy({ acceptedTypes: ['nitro'], measurements: { nitro: 'any' } }), {
      acceptedTypes: ['nitro'],
      measurements: { nitro: 'any' },
      minimumTcbStatus: 'UpToDate',
      allowDebug: false,
      collateral: { source: 'embedded' },
    });
  });

  const refusals: [string, unknown, RegExp][] = [
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /JSON object/],
    ['an unknown field (a typo)', { acceptedTypes: ['nitro'], measurements: { nitro: 'any' }, allowdebug: true }, /unknown policy fields: allowdebug/],
    ['no accepted type', { acceptedTypes: [], measurements: {} }, /acceptedTypes must be a non-empty/],
    ['an unknown type', { acceptedTypes: ['sgx'], measurements: {} }, /unknown evidence type "sgx"/],
    ['an accepted type without measurements', { acceptedTypes: ['tdx'], measurements: {} }, /measurements.tdx is missing/],
    ['measurements that are not hex', { acceptedTypes: ['tdx'], measurements: { tdx: ['xyz'] } }, /measurements.tdx\[0\]/],
    ['an empty measurement list', { acceptedTypes: ['tdx'], measurements: { tdx: [] } }, /"any" or a non-empty array/],
    ['a measurement for an unknown type', { acceptedTypes: ['tdx'], measurements: { tdx: 'any', sev: 'any' } }, /measurements.sev: unknown evidence type/],
    ['Revoked as the minimum', { acceptedTypes: ['tdx'], measurements: { tdx: 'any' }, minimumTcbStatus: 'Revoked' }, /never trusted/],
    ['an unknown TCB status', { acceptedTypes: ['tdx'], measurements: { tdx: 'any' }, minimumTcbStatus: 'Fine' }, /minimumTcbStatus must be one of/],
    ['a string for allowDebug', { acceptedTypes: ['tdx'], measurements: { tdx: 'any' }, allowDebug: 'no' }, /allowDebug must be true or false/],
    ['a negative age', { acceptedTypes: ['tdx'], measurements: { tdx: 'any' }, maxEvidenceAgeSeconds: -1 }, /positive whole number/],
    ['a PCCS without URL', { acceptedTypes: ['tdx'], measurements: { tdx: 'any' }, collateral: { source: 'pccs' } }, /collateral must be/],
    ['a PCCS URL of another scheme', { acceptedTypes: ['tdx'], measurements: { tdx: 'any' }, collateral: { source: 'pccs', url: 'file:///etc/passwd' } }, /http\(s\) URL/],
    ['empty signers', { acceptedTypes: ['tdx'], measurements: { tdx: 'any' }, signers: { tdx: [] } }, /signers.tdx must be a non-empty array/],
  ];
  for (const [what, json, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parseTrustPolicy(typeof json === 'string' ? json : JSON.stringify(json)), (error: unknown) => error instanceof PolicyError && message.test(error.message));
    });
  }
});

describe('policy rules on verdicts', () => {
  const acceptAnySgx = policy({ acceptedTypes: ['sgx-dcap'], measurements: { 'sgx-dcap': 'any' }, minimumTcbStatus: 'ConfigurationAndSWHardeningNeeded' });
  const at = { at: SGX_AT };

  it('the real SGX sample passes a policy that accepts its TCB status, and is refused by the default UpToDate', () => {
    assert.equal(sgxVerdict.verified, true, sgxVerdict.reason);
    assert.deepEqual(policyRefusals(sgxVerdict, acceptAnySgx, at), []);
    const strict = policy({ acceptedTypes: ['sgx-dcap'], measurements: { 'sgx-dcap': 'any' } });
    assert.deepEqual(policyRefusals(sgxVerdict, strict, at), ["TCB status ConfigurationAndSWHardeningNeeded is worse than the policy's minimum UpToDate"]);
  });

  it('pins the real sample by MRENCLAVE, by named measurements and by signer', () => {
    const { mrEnclave, mrSigner } = sgxVerdict.measurements;
    assert.match(mrEnclave ?? '', /^[0-9a-f]{64}$/);
    const pinned = (json: object) => policy({ acceptedTypes: ['sgx-dcap'], minimumTcbStatus: 'ConfigurationAndSWHardeningNeeded', ...json });
    assert.deepEqual(policyRefusals(sgxVerdict, pinned({ measurements: { 'sgx-dcap': [mrEnclave!.toUpperCase()] } }), at), []);
    assert.deepEqual(policyRefusals(sgxVerdict, pinned({ measurements: { 'sgx-dcap': [{ mrEnclave, mrSigner }] } }), at), []);
    assert.match(policyRefusals(sgxVerdict, pinned({ measurements: { 'sgx-dcap': ['00'.repeat(32)] } }), at).join(), /measurement [0-9a-f]{64} is not in the policy's allowed measurements/);
    assert.match(policyRefusals(sgxVerdict, pinned({ measurements: { 'sgx-dcap': [{ mrEnclave, mrSigner: '00'.repeat(32) }] } }), at).join(), /not in the policy's allowed measurements/);
    assert.deepEqual(policyRefusals(sgxVerdict, pinned({ measurements: { 'sgx-dcap': 'any' }, signers: { 'sgx-dcap': [mrSigner] } }), at), []);
    assert.match(policyRefusals(sgxVerdict, pinned({ measurements: { 'sgx-dcap': 'any' }, signers: { 'sgx-dcap': ['00'.repeat(32)] } }), at).join(), /signer [0-9a-f]{64} is not in the policy's allowed signers/);
  });

  it('lists the advisories a policy has not allowed', () => {
    assert.deepEqual(sgxVerdict.advisoryIds, ['INTEL-SA-00289', 'INTEL-SA-00615']);
    const listing = (ids: string[]) => policy({ acceptedTypes: ['sgx-dcap'], measurements: { 'sgx-dcap': 'any' }, minimumTcbStatus: 'ConfigurationAndSWHardeningNeeded', allowedAdvisoryIds: ids });
    assert.deepEqual(policyRefusals(sgxVerdict, listing(['INTEL-SA-00289', 'INTEL-SA-00615']), at), []);
    assert.deepEqual(policyRefusals(sgxVerdict, listing(['INTEL-SA-00289']), at), ['advisories not allowed by the policy apply: INTEL-SA-00615']);
  });

  it('refuses evidence that is not genuine with the verifier\'s reason, and nothing else', () => {
    assert.deepEqual(policyRefusals(verdict({ verified: false, reason: 'the quote signature does not verify' }), acceptAnySgx, at), ['the evidence is not genuine: the quote signature does not verify']);
  });

  it('refuses a type the policy does not accept, and the simulated TEE under any hardware policy', () => {
    assert.match(policyRefusals(verdict({ type: 'tdx' }), acceptAnySgx, at).join(), /evidence type tdx is not accepted/);
    const simulated = verdict({ type: 'simulated', tcbStatus: 'Simulated' });
    assert.match(policyRefusals(simulated, HARDWARE_ONLY_POLICY, at).join(), /SIMULATED TEE/);
    assert.match(policyRefusals(simulated, acceptAnySgx, at).join(), /SIMULATED TEE/);
    assert.deepEqual(policyRefusals(simulated, DEVELOPMENT_POLICY, at), []);
  });

  it('refuses debug unless allowed, even in development', () => {
    const debug = verdict({ debug: true });
    assert.match(policyRefusals(debug, acceptAnySgx, at).join(), /debug mode/);
    assert.match(policyRefusals(debug, DEVELOPMENT_POLICY, at).join(), /debug mode/);
    assert.deepEqual(policyRefusals(debug, { ...acceptAnySgx, allowDebug: true }, at), []);
  });

  it('never accepts a Revoked TCB and orders the statuses best first', () => {
    const loosest = policy({ acceptedTypes: ['sgx-dcap'], measurements: { 'sgx-dcap': 'any' }, minimumTcbStatus: 'OutOfDateConfigurationNeeded' });
    assert.deepEqual(policyRefusals(verdict({ tcbStatus: 'Revoked' }), loosest, at), ['the platform TCB is Revoked']);
    assert.deepEqual(policyRefusals(verdict({ tcbStatus: 'OutOfDate' }), loosest, at), []);
    assert.match(policyRefusals(verdict({ tcbStatus: 'OutOfDate' }), acceptAnySgx, at).join(), /OutOfDate is worse than/);
    assert.deepEqual(policyRefusals(verdict({ tcbStatus: 'SWHardeningNeeded' }), acceptAnySgx, at), []);
    assert.deepEqual(policyRefusals(verdict({ type: 'nitro', tcbStatus: 'NotApplicable' }), HARDWARE_ONLY_POLICY, at), [], 'types without a vendor status are judged by measurement');
  });

  it('limits evidence age from when it was made, and refuses evidence that cannot say', () => {
    const young = policy({ acceptedTypes: ['sgx-dcap'], measurements: { 'sgx-dcap': 'any' }, maxEvidenceAgeSeconds: 3600 });
    const made = (secondsAgo: number) => new Date(SGX_AT.getTime() - secondsAgo * 1000).toISOString();
    assert.deepEqual(policyRefusals(verdict({}), young, { at: SGX_AT, producedAt: made(3599) }), []);
    assert.deepEqual(policyRefusals(verdict({}), young, { at: SGX_AT, producedAt: made(3601) }), ['the evidence is 3601 s old; the policy allows 3600 s']);
    assert.match(policyRefusals(verdict({}), young, { at: SGX_AT, producedAt: made(-3600) }).join(), /in the future/);
    assert.match(policyRefusals(verdict({}), young, { at: SGX_AT }).join(), /does not say when it was made/);
  });

  it('gives every reason at once', () => {
    const reasons = policyRefusals(verdict({ debug: true, tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-1'] }), { ...acceptAnySgx, measurements: { 'sgx-dcap': ['00'] }, allowedAdvisoryIds: [] }, at);
    assert.equal(reasons.length, 4, reasons.join('\n'));
  });
});

describe('real debug evidence', () => {
  // Each genuine at its own time, each from a TEE whose memory the host could read.
  const debugSamples: [string, Verdict][] = [
    ['the AWS Nitro debug-mode document', verifyEvidence('nitro', { evidence: Buffer.from(readSample('nitro/nitro_attestation_debug.b64').toString().trim(), 'base64') }, { at: new Date('2024-09-07T14:38:06.508Z') })],
    [
      "go-sev-guest's SEV-SNP report (POLICY debug bit set)",
      verifyEvidence('sev-snp', { evidence: readSample('sev-snp/attestation.bin'), certificates: Buffer.concat([Buffer.from(new crypto.X509Certificate(readSample('sev-snp/vcek.testcer')).toString()), readSample('sev-snp/milan.testcer')]) }, { at: new Date('2023-01-01T00:00:00Z') }),
    ],
    ["Avalon's IAS report (a debug enclave)", verifyEvidence('ias', { evidence: fs.readFileSync(path.join(FIXTURES, 'ias-avalon-report.json')) }, { at: new Date('2018-07-11T20:00:00Z') })],
  ];
  for (const [name, judged] of debugSamples) {
    it(`${name} is genuine, and refused as debug by every built-in policy and by a policy file that does not allow debug`, () => {
      assert.equal(judged.verified, true, judged.reason);
      assert.equal(judged.debug, true);
      const at = { at: new Date(judged.judgedAt) };
      const file = policy({ acceptedTypes: [judged.type], measurements: { [judged.type]: 'any' }, minimumTcbStatus: 'OutOfDateConfigurationNeeded' });
      for (const strict of [DEVELOPMENT_POLICY, file]) assert.deepEqual(policyRefusals(judged, strict, at).filter((reason) => /debug/.test(reason)).length, 1);
      assert.ok(policyRefusals(judged, HARDWARE_ONLY_POLICY, at).length > 0);
      assert.deepEqual(policyRefusals(judged, { ...file, allowDebug: true }, at), []);
    });
  }
});
