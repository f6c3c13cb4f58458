/**
 * Trusting a worker: genuine evidence is not enough, it must bind this worker's id, both its keys and
 * the time it was made (attestation/binding.ts). A host that moves a genuine worker's evidence and keys
 * under another worker id, pairs them with its own encryption key, or re-dates them is refused — for the
 * simulated TEE and for real hardware evidence alike (the real SGX quote verifies, and is refused only
 * because its report data binds no TCF worker).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bindingReportData, BINDING_DOMAIN, type BoundIdentity } from '../../src/attestation/binding.ts';
import { parseDcapCollateral } from '../../src/attestation/dcap.ts';
import { decodeEvidenceEnvelope, encodeEvidenceEnvelope } from '../../src/attestation/envelope.ts';
import { DEVELOPMENT_POLICY, HARDWARE_ONLY_POLICY, parseTrustPolicy } from '../../src/attestation/policy.ts';
import { createSimulatedEvidence, SIMULATED_PROOF_TYPE } from '../../src/attestation/simulated.ts';
import { judgeWorker, trustWorker, UntrustedWorkerError } from '../../src/attestation/worker-trust.ts';
import { bytesToHex } from '../../src/crypto/encoding.ts';
import { generateEncryptionKey, generateSigningKey, type SigningKeyPair } from '../../src/crypto/keys.ts';
import { ecdsaSignDigest, sha256 } from '../../src/crypto/primitives.ts';
import { encryptionKeyHash } from '../../src/protocol/hashing.ts';
import type { WorkerRecord } from '../../src/protocol/messages.ts';
import { readSample } from '../helpers/attestation-samples.ts';

const signing = generateSigningKey();
const encryption = generateEncryptionKey(2048);
const WORKER_ID = 'ab'.repeat(32);
const ISSUED_AT = '2026-12-05T10:00:00.000Z';

function record(workerId: string, proofDataType: string, proofData: string, keys: { signing: SigningKeyPair; encryptionKeyPem: string } = { signing, encryptionKeyPem: encryption.publicKeyPem }): WorkerRecord {
  return {
    workerId,
    workerType: 1,
    organizationId: 'aa',
    applicationTypeId: ['bb'],
    status: 1,
    details: {
      hashingAlgorithm: 'SHA-256',
      signingAlgorithm: 'SECP256K1',
      keyEncryptionAlgorithm: 'RSA-OAEP-2048',
      dataEncryptionAlgorithm: 'AES-GCM-256',
      workerTypeData: {
        verificationKey: keys.signing.publicKeyPem,
        encryptionKey: keys.encryptionKeyPem,
        encryptionKeySignature: bytesToHex(ecdsaSignDigest(keys.signing.privateKey, encryptionKeyHash(keys.encryptionKeyPem))),
        proofDataType,
        proofData,
      },
    },
  };
}

const identity: BoundIdentity = { workerId: WORKER_ID, verificationKeyPem: signing.publicKeyPem, encryptionKeyPem: encryption.publicKeyPem, issuedAt: ISSUED_AT };
const simulatedProof = (bound: BoundIdentity) => JSON.stringify(createSimulatedEvidence('cd'.repeat(32), bound));

describe('the binding recipe', () => {
  it('is SHA-256 over the domain and four length-prefixed fields, then 32 zero bytes', () => {
    const field = (text: string) => {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    const expected = Buffer.concat([
      sha256(Buffer.from('tcf-worker-binding/v1'), field(WORKER_ID), field(signing.publicKeyPem), field(encryption.publicKeyPem), field(ISSUED_AT)),
      Buffer.alloc(32),
    ]);
    assert.equal(BINDING_DOMAIN, 'tcf-worker-binding/v1');
    assert.deepEqual(bindingReportData(identity), expected);
    assert.deepEqual(bindingReportData({ ...identity, workerId: WORKER_ID.toUpperCase() }), expected, 'the workerId is bound in lowercase');
  });

  it('changes with any field, and length prefixes keep field boundaries apart', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), fc.nat({ max: 3 }), fc.string({ minLength: 1 }), (w, v, e, t, which, extra) => {
        const base: BoundIdentity = { workerId: w.toLowerCase(), verificationKeyPem: v, encryptionKeyPem: e, issuedAt: t };
        const keys = ['workerId', 'verificationKeyPem', 'encryptionKeyPem', 'issuedAt'] as const;
        const changed = { ...base, [keys[which]!]: base[keys[which]!] + extra.toLowerCase() };
        if (changed[keys[which]!] === base[keys[which]!]) return;
        assert.notDeepEqual(bindingReportData(changed), bindingReportData(base));
      }),
    );
    const shifted = bindingReportData({ ...identity, verificationKeyPem: identity.verificationKeyPem + 'x', encryptionKeyPem: identity.encryptionKeyPem.slice(0) });
    const moved = bindingReportData({ ...identity, verificationKeyPem: identity.verificationKeyPem, encryptionKeyPem: 'x' + identity.encryptionKeyPem });
    assert.notDeepEqual(shifted, moved);
  });
});

describe('trusting a worker (simulated TEE)', () => {
  const at = new Date('2026-12-05T10:05:00Z');

  it('trusts a worker whose evidence binds it under the development policy only', async () => {
    const worker = record(WORKER_ID, SIMULATED_PROOF_TYPE, simulatedProof(identity));
    const trusted = await trustWorker(worker, DEVELOPMENT_POLICY, { at });
    assert.equal(trusted.evidence.simulated, true);
    assert.equal(trusted.evidence.issuedAt, ISSUED_AT);
    assert.equal(trusted.keys.encryptionKeyPem, encryption.publicKeyPem);
    await assert.rejects(trustWorker(worker, HARDWARE_ONLY_POLICY, { at }), (error: unknown) => error instanceof UntrustedWorkerError && /SIMULATED TEE/.test(error.message));
  });

  it('refuses genuine evidence and keys moved under another worker id', async () => {
    const judgement = await judgeWorker(record('ef'.repeat(32), SIMULATED_PROOF_TYPE, simulatedProof(identity)), DEVELOPMENT_POLICY, { at });
    assert.equal(judgement.trusted, false);
    assert.deepEqual(judgement.reasons.length, 1);
    assert.match(judgement.reasons[0]!, /does not bind worker efefefef/);
  });

  it('refuses the evidence paired with another encryption key, even one the attested key signed', async () => {
    const other = generateEncryptionKey(2048);
    const judgement = await judgeWorker(record(WORKER_ID, SIMULATED_PROOF_TYPE, simulatedProof(identity), { signing, encryptionKeyPem: other.publicKeyPem }), DEVELOPMENT_POLICY, { at });
    assert.equal(judgement.trusted, false);
    assert.match(judgement.reasons.join(), /does not bind worker/);
  });

  it('refuses evidence whose issuedAt was changed after it was made', async () => {
    const evidence = createSimulatedEvidence('cd'.repeat(32), identity);
    const redated = JSON.stringify({ ...evidence, issuedAt: '2026-12-05T10:04:00.000Z' });
    const judgement = await judgeWorker(record(WORKER_ID, SIMULATED_PROOF_TYPE, redated), DEVELOPMENT_POLICY, { at });
    assert.match(judgement.reasons.join(), /does not bind worker .* issuedAt 2026-12-05T10:04:00.000Z/);
  });

  it('refuses evidence older than the policy allows, measured from issuedAt', async () => {
    const young = { ...DEVELOPMENT_POLICY, maxEvidenceAgeSeconds: 60 };
    const judgement = await judgeWorker(record(WORKER_ID, SIMULATED_PROOF_TYPE, simulatedProof(identity)), young, { at });
    assert.deepEqual(judgement.reasons, ['the evidence is 300 s old; the policy allows 60 s']);
  });

  it('refuses the old simulated format that bound only the verification key', async () => {
    const old = JSON.stringify({ type: SIMULATED_PROOF_TYPE, simulated: true, notice: '', measurement: '00', reportData: sha256(Buffer.from(signing.publicKeyPem)).toString('hex') });
    const judgement = await judgeWorker(record(WORKER_ID, SIMULATED_PROOF_TYPE, old), DEVELOPMENT_POLICY, { at });
    assert.match(judgement.reasons.join(), /issuedAt are required/);
  });

  it('refuses an unknown evidence type', async () => {
    const judgement = await judgeWorker(record(WORKER_ID, 'TEE-MYSTERY', '{}'), DEVELOPMENT_POLICY, { at });
    assert.deepEqual(judgement.reasons, ['no verifier for evidence type "TEE-MYSTERY"']);
  });
});

describe('trusting a worker (real hardware evidence in the envelope)', () => {
  const sgxAt = new Date('2025-06-20T00:00:00Z');
  const collateral = parseDcapCollateral(readSample('sgx-dcap/sgx_quote_collateral.json').toString());
  const sgxPolicy = parseTrustPolicy({ acceptedTypes: ['sgx-dcap'], measurements: { 'sgx-dcap': 'any' }, minimumTcbStatus: 'ConfigurationAndSWHardeningNeeded' });
  const envelope = encodeEvidenceEnvelope({ type: 'sgx-dcap', issuedAt: '2025-06-19T23:00:00.000Z', evidence: readSample('sgx-dcap/sgx_quote'), collateral });

  it('round-trips the envelope exactly', () => {
    assert.equal(envelope.proofDataType, 'TCF-SGX-DCAP');
    const decoded = decodeEvidenceEnvelope(envelope.proofDataType, envelope.proofData);
    assert.deepEqual(decoded.evidence, readSample('sgx-dcap/sgx_quote'));
    assert.deepEqual(decoded.collateral, collateral);
    assert.equal(decoded.issuedAt, '2025-06-19T23:00:00.000Z');
  });

  it('the real SGX quote verifies, and the worker is refused only because the report data binds no TCF worker', async () => {
    const judgement = await judgeWorker(record(WORKER_ID, envelope.proofDataType, envelope.proofData), sgxPolicy, { at: sgxAt });
    assert.equal(judgement.evidence?.verdict.verified, true, judgement.evidence?.verdict.reason);
    assert.equal(judgement.reasons.length, 1, judgement.reasons.join('\n'));
    assert.match(judgement.reasons[0]!, /report data .* does not bind worker/);
  });

  it('refuses the same quote today, under the hardware policy, and with a changed envelope', async () => {
    const today = await judgeWorker(record(WORKER_ID, envelope.proofDataType, envelope.proofData), sgxPolicy);
    assert.match(today.reasons[0]!, /the evidence is not genuine/);
    const strict = await judgeWorker(record(WORKER_ID, envelope.proofDataType, envelope.proofData), HARDWARE_ONLY_POLICY, { at: sgxAt });
    assert.match(strict.reasons.join(), /TCB status ConfigurationAndSWHardeningNeeded is worse/);
    const json = JSON.parse(envelope.proofData) as Record<string, unknown>;
    for (const [what, changed, reason] of [
      ['an extra field', { ...json, note: 'x' }, /fields tcf-evidence\/1 does not define: note/],
      ['another type', { ...json, type: 'tdx' }, /says type "tdx", not sgx-dcap/],
      ['an issuedAt without milliseconds', { ...json, issuedAt: '2025-06-19T23:00:00Z' }, /issuedAt is not an ISO 8601/],
      ['no collateral', { ...json, collateral: undefined }, /needs its collateral/],
    ] as const) {
      const judged = await judgeWorker(record(WORKER_ID, envelope.proofDataType, JSON.stringify(changed)), sgxPolicy, { at: sgxAt });
      assert.match(judged.reasons.join(), reason, what);
    }
  });
});
