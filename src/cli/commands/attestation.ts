/**
 * `tcf attestation verify`: judges one piece of TEE evidence offline, as an auditor or operator would
 * before trusting a platform — the same verifiers and policies the SDK uses, at a time the caller may
 * choose (evidence and collateral expire; a verdict at the time it was made is what an audit needs).
 */
import fs from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { dcapCollateralRequest, parseDcapCollateral, type DcapCollateral } from '../../attestation/dcap.js';
import type { HardwareEvidenceType } from '../../attestation/envelope.js';
import { collateralSourceFor } from '../../attestation/pccs.js';
import { policyRefusals, type TrustPolicy } from '../../attestation/policy.js';
import type { Verdict } from '../../attestation/verdict.js';
import { verifyEvidence, type EvidenceParts } from '../../attestation/verify.js';
import { CliUsageError, trustPolicy } from '../context.js';
import { ExitCode, printJson, say } from '../output.js';

const TYPES: readonly HardwareEvidenceType[] = ['sgx-dcap', 'tdx', 'sev-snp', 'nitro', 'ias'];

interface VerifyFlags {
  type: HardwareEvidenceType;
  evidence: string;
  collateral?: string;
  certs?: string;
  at?: Date;
  policy?: string;
  json?: boolean;
}

function evidenceType(value: string): HardwareEvidenceType {
  if (!(TYPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${TYPES.join(', ')}`);
  return value as HardwareEvidenceType;
}

function isoTime(value: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) throw new InvalidArgumentError('an ISO 8601 time such as 2025-06-20T00:00:00Z');
  return at;
}

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new CliUsageError(`cannot read the ${what} ${JSON.stringify(file)}: ${(error as Error).message}`);
  }
}

/**
 * Evidence files come as their vendors' tools write them: raw bytes, hex text (SEV-SNP tools) or base64
 * text (Nitro documents as logged). Text made only of hex or base64 characters is decoded; anything else
 * is taken as the raw bytes.
 */
export function decodeEvidenceFile(bytes: Buffer): Buffer {
  const text = bytes.toString('latin1').replace(/\s+/g, '');
  if (text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text)) return Buffer.from(text, 'hex');
  if (text.length > 0 && text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text)) return Buffer.from(text, 'base64');
  return bytes;
}

async function collateralFor(flags: VerifyFlags, quote: Buffer, policy: TrustPolicy | undefined): Promise<DcapCollateral | undefined> {
  // A collateral file given by hand wins over the policy's PCCS: it is what the caller asked to judge with.
  if (flags.collateral) {
    try {
      return parseDcapCollateral(readFile(flags.collateral, 'collateral').toString('utf8'));
    } catch (error) {
      if (error instanceof CliUsageError) throw error;
      throw new CliUsageError(`--collateral ${flags.collateral}: ${(error as Error).message}`);
    }
  }
  const source = policy ? collateralSourceFor(policy.collateral, undefined) : undefined;
  if (!source) return undefined;
  try {
    dcapCollateralRequest(quote);
  } catch {
    // A quote the PCCS could not be asked about is refused by the verifier, with its reason.
    return undefined;
  }
  return source.dcap(quote);
}

function humanLines(verdict: Verdict, refusals: string[] | undefined, policyName: string | undefined): string[] {
  const lines = [`${verdict.type}: ${verdict.verified ? 'VERIFIED' : `NOT verified: ${verdict.reason}`}`, `  judged at ${verdict.judgedAt}`];
  if (verdict.measurement) lines.push(`  measurement ${verdict.measurement}`);
  for (const [name, value] of Object.entries(verdict.measurements)) if (value !== verdict.measurement) lines.push(`  ${name} ${value}`);
  if (verdict.signer) lines.push(`  signer ${verdict.signer}`);
  if (verdict.reportData) lines.push(`  report data ${verdict.reportData}`);
  lines.push(`  TCB status ${verdict.tcbStatus}${verdict.advisoryIds.length ? `, advisories ${verdict.advisoryIds.join(', ')}` : ''}`);
  lines.push(`  debug ${verdict.debug ? 'YES: the host can read this TEE\'s memory' : 'no'}`);
  if (verdict.producedAt) lines.push(`  produced at ${verdict.producedAt}`);
  for (const [name, value] of Object.entries(verdict.details)) lines.push(`  ${name}: ${value}`);
  if (refusals) lines.push(refusals.length === 0 ? `passes the policy ${policyName}` : `refused by the policy ${policyName}:\n${refusals.map((reason) => `  - ${reason}`).join('\n')}`);
  return lines;
}

export function registerAttestationCommands(program: Command): void {
  const attestation = program
    .command('attestation')
    .description('Judge TEE evidence (SGX DCAP, TDX, SEV-SNP, AWS Nitro, IAS) the way requesters judge workers.')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  tcf attestation verify --type sgx-dcap --evidence quote.bin --collateral collateral.json --at 2025-06-20T00:00:00Z',
        '  tcf attestation verify --type sev-snp --evidence report.bin --certs vcek-ask-ark.pem',
        '  tcf attestation verify --type nitro --evidence document.b64 --policy production-policy.json --json',
      ].join('\n'),
    );
  attestation
    .command('verify')
    .description('Verify one piece of evidence at a time you choose, optionally under a trust policy. Exit 0 when verified (and passing the policy), 4 when not.')
    .requiredOption('--type <type>', `evidence type: ${TYPES.join(', ')}`, evidenceType)
    .requiredOption('--evidence <file>', 'the quote, report or attestation document: raw, hex or base64 (IAS: the JSON of Avalon\'s proofData)')
    .option('--collateral <file>', 'SGX/TDX: Intel collateral JSON (PCK CRL, TCB info, QE identity and their issuer chains); or fetch it from the PCCS of --policy')
    .option('--certs <file>', 'SEV-SNP: the VCEK (PEM or DER), then ASK and ARK in PEM')
    .option('--at <iso>', 'judge at this time instead of now (evidence and collateral expire)', isoTime)
    .option('--policy <file>', 'also judge under a trust policy: a policy JSON file, development or hardware')
    .option('--json', 'print the verdict as JSON')
    .addHelpText(
      'after',
      [
        '',
        'The verdict names the measurement(s), report data, TCB status, debug mode and the time it was judged at.',
        'This command judges evidence alone: whether its report data binds a worker\'s keys is checked by',
        '`tcf workers show` (docs/attestation.md, "Binding").',
      ].join('\n'),
    )
    .action(async (flags: VerifyFlags) => {
      const at = flags.at ?? new Date();
      const policy = flags.policy ? trustPolicy({ policy: flags.policy }) : undefined;
      const raw = readFile(flags.evidence, 'evidence');
      const evidence = flags.type === 'ias' ? raw : decodeEvidenceFile(raw);
      const parts: EvidenceParts = { evidence };
      if (flags.type === 'sgx-dcap' || flags.type === 'tdx') {
        const collateral = await collateralFor(flags, evidence, policy);
        if (collateral) parts.collateral = collateral;
      }
      if (flags.certs) parts.certificates = readFile(flags.certs, 'certificates');
      const verdict = verifyEvidence(flags.type, parts, { at });
      const refusals = policy ? policyRefusals(verdict, policy, verdict.producedAt ? { at, producedAt: verdict.producedAt } : { at }) : undefined;
      const passed = verdict.verified && (refusals === undefined || refusals.length === 0);
      if (!passed) process.exitCode = ExitCode.UNTRUSTED;
      if (flags.json) return printJson(refusals === undefined ? verdict : { ...verdict, policy: { passed: refusals.length === 0, reasons: refusals } });
      for (const line of humanLines(verdict, refusals, flags.policy)) say(line);
    });
}
