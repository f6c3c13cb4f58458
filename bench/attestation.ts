/**
 * What judging evidence costs a requester: each verifier on its real sample at the sample's own time,
 * and @phala/dcap-qvl on the same DCAP quotes, as milliseconds per verification and as a ratio to one
 * ECDSA P-384 signature check measured in the same run (the machine's own yardstick).
 * Run: `node --import tsx bench/attestation.ts [runs]` (default 200 per row).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verify as dcapQvlVerify } from '@phala/dcap-qvl';
import { parseDcapCollateral } from '../src/attestation/dcap.ts';
import { verifyEvidence, type EvidenceParts } from '../src/attestation/verify.ts';
import type { HardwareEvidenceType } from '../src/attestation/envelope.ts';
import { readSample } from '../test/helpers/attestation-samples.ts';
import { percentile } from './percentile.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.argv[2] ?? 200);

/** Median milliseconds of `runs` calls after a warm-up. */
function median(run: () => unknown, runs = RUNS): number {
  for (let index = 0; index < Math.min(20, runs); index += 1) run();
  const times: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  return percentile(times.sort((a, b) => a - b), 0.5);
}

const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
const message = crypto.randomBytes(1184);
const signature = crypto.sign('sha384', message, privateKey);
const baseline = median(() => crypto.verify('sha384', message, publicKey, signature));

const dcap = (quote: string, collateral: string) => ({ evidence: readSample(quote), collateral: parseDcapCollateral(readSample(collateral).toString()) });
const rows: [string, HardwareEvidenceType, EvidenceParts, string][] = [
  ['SGX DCAP quote v3', 'sgx-dcap', dcap('sgx-dcap/sgx_quote', 'sgx-dcap/sgx_quote_collateral.json'), '2025-06-20T00:00:00Z'],
  ['TDX quote v4', 'tdx', dcap('tdx/tdx_quote', 'tdx/tdx_quote_collateral.json'), '2025-06-20T00:00:00Z'],
  ['SEV-SNP report (Milan)', 'sev-snp', { evidence: Buffer.from(readSample('sev-snp/report_milan.hex').toString().trim(), 'hex'), certificates: readSample('sev-snp/vcek_milan.der') }, '2024-01-01T00:00:00Z'],
  ['AWS Nitro document', 'nitro', { evidence: Buffer.from(readSample('nitro/nitro_attestation.b64').toString().trim(), 'base64') }, '2024-09-07T14:40:00Z'],
  ['IAS report (Avalon)', 'ias', { evidence: fs.readFileSync(path.join(ROOT, 'test/fixtures/attestation/ias-avalon-report.json')) }, '2018-07-11T20:00:00Z'],
];

console.log(`one ECDSA P-384 verification (baseline): ${baseline.toFixed(3)} ms; ${RUNS} runs per row, median`);
console.log('| evidence | ms | × baseline |');
console.log('|---|---|---|');
for (const [name, type, parts, at] of rows) {
  const when = new Date(at);
  const verdict = verifyEvidence(type, parts, { at: when });
  if (!verdict.verified) throw new Error(`${name} does not verify at ${at}: ${verdict.reason}`);
  const ms = median(() => verifyEvidence(type, parts, { at: when }));
  console.log(`| ${name} | ${ms.toFixed(2)} | ${(ms / baseline).toFixed(1)} |`);
}
for (const [name, quote, collateral] of [
  ['@phala/dcap-qvl, SGX quote v3', 'sgx-dcap/sgx_quote', 'sgx-dcap/sgx_quote_collateral.json'],
  ['@phala/dcap-qvl, TDX quote v4', 'tdx/tdx_quote', 'tdx/tdx_quote_collateral.json'],
] as const) {
  const bytes = readSample(quote);
  const json = JSON.parse(readSample(collateral).toString()) as Parameters<typeof dcapQvlVerify>[1];
  const now = Date.parse('2025-06-20T00:00:00Z') / 1000;
  const ms = median(() => dcapQvlVerify(bytes, json, now));
  console.log(`| ${name} | ${ms.toFixed(2)} | ${(ms / baseline).toFixed(1)} |`);
}
