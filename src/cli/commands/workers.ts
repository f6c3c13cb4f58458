/**
 * `tcf workers list|show`: the workers a TCS offers, and whether each one's evidence and key binding
 * pass the trust policy.
 */
import type { Command } from 'commander';
import { sha256 } from '../../crypto/primitives.js';
import { utf8 } from '../../crypto/encoding.js';
import type { Verdict } from '../../attestation/verdict.js';
import type { WorkerRecord } from '../../protocol/messages.js';
import type { TcfClient } from '../../client/client.js';
import { clientFor, trustPolicy, wholeNumber, withClientOptions, type ClientFlags } from '../context.js';
import { printJson, say } from '../output.js';

const STATUS = ['', 'active', 'off-line', 'decommissioned', 'compromised'];
const TYPE = ['', 'TEE', 'MPC', 'ZK'];

interface WorkerTrust {
  trusted: boolean;
  reason: string;
  simulated: boolean;
  /** The measurement, only when the worker is trusted under the policy. */
  measurement?: string;
  /**
   * The evidence's verdict before the policy: what genuine evidence shows (verified), or what it states
   * and why it could not be verified. Kept whole so an operator sees why a worker is refused.
   */
  verdict?: Verdict;
  issuedAt?: string;
}

async function judge(client: TcfClient, worker: WorkerRecord, flags: ClientFlags): Promise<WorkerTrust> {
  const judgement = await client.judgeWorker(worker, trustPolicy(flags));
  const verdict = judgement.evidence?.verdict;
  const trust: WorkerTrust = { trusted: judgement.trusted, reason: judgement.reasons.join('; '), simulated: verdict?.type === 'simulated' };
  if (judgement.trusted && verdict) trust.measurement = verdict.measurement;
  if (verdict) trust.verdict = verdict;
  if (judgement.evidence?.issuedAt) trust.issuedAt = judgement.evidence.issuedAt;
  return trust;
}

function verdictLines(verdict: Verdict, issuedAt: string | undefined): string[] {
  const state = !verdict.verified ? `NOT verified: ${verdict.reason}` : verdict.type === 'simulated' ? 'SIMULATED, no hardware vouches for it' : 'genuine';
  const lines = [`  evidence ${verdict.type}: ${state} (judged at ${verdict.judgedAt})`];
  const vouched = verdict.verified && verdict.type !== 'simulated';
  if (verdict.measurement) lines.push(`    measurement ${verdict.measurement}${vouched ? '' : ' (as the evidence states it, not attested)'}`);
  for (const [name, value] of Object.entries(verdict.measurements)) if (value !== verdict.measurement) lines.push(`    ${name} ${value}`);
  if (verdict.signer) lines.push(`    signer ${verdict.signer}`);
  lines.push(`    TCB status ${verdict.tcbStatus}${verdict.advisoryIds.length ? `, advisories ${verdict.advisoryIds.join(', ')}` : ''}, debug ${verdict.debug ? 'YES' : 'no'}`);
  if (issuedAt || verdict.producedAt) lines.push(`    made at ${verdict.producedAt ?? issuedAt}`);
  return lines;
}

const fingerprint = (pem: string) => sha256(utf8(pem)).toString('hex').slice(0, 16);

export function registerWorkerCommands(program: Command): void {
  const workers = program
    .command('workers')
    .description('List and inspect the workers of a TCS.')
    .addHelpText('after', '\nExamples:\n  tcf workers list\n  tcf workers show <workerId> --policy hardware');
  withClientOptions(workers.command('list'))
    .description('List every worker (all LookUp pages), with its type, status and evidence verdict.')
    .option('--type <n>', 'only this worker type (1 TEE, 2 MPC, 3 ZK)', wholeNumber)
    .option('--org <hex>', 'only this organizationId')
    .option('--app <hex>', 'only this applicationTypeId')
    .addHelpText('after', '\nExample:\n  tcf workers list --type 1\n  tcf workers list --json | jq -r ".[].workerId"')
    .action(async (flags: ClientFlags & { type?: number; org?: string; app?: string }) => {
      const client = await clientFor(flags);
      const filter: { workerType?: number; organizationId?: string; applicationTypeId?: string } = {};
      if (flags.type !== undefined) filter.workerType = flags.type;
      if (flags.org) filter.organizationId = flags.org;
      if (flags.app) filter.applicationTypeId = flags.app;
      const rows = [];
      for (const workerId of await client.lookUpWorkers(filter)) {
        const worker = await client.getWorker(workerId);
        rows.push({ workerId, workerType: worker.workerType, status: worker.status, proofDataType: worker.details.workerTypeData.proofDataType ?? '', ...(await judge(client, worker, flags)) });
      }
      if (flags.json) return printJson(rows);
      if (rows.length === 0) return say('no workers');
      for (const row of rows) {
        const trust = row.trusted ? (row.simulated ? 'trusted under the development policy (SIMULATED TEE)' : 'trusted') : `NOT trusted: ${row.reason}`;
        say(`${row.workerId}  ${TYPE[row.workerType] ?? row.workerType}  ${STATUS[row.status] ?? row.status}  ${row.proofDataType}  ${trust}`);
      }
    });

  withClientOptions(workers.command('show'))
    .description("Show one worker's details: algorithms, key fingerprints, measurement and evidence verdict.")
    .argument('<workerId>', 'hex worker id')
    .addHelpText('after', '\nExample:\n  tcf workers show e4cdc5e47be41f69274cdc36af99cb675a3896b60230932f71a2602123a0590a')
    .action(async (workerId: string, flags: ClientFlags) => {
      const client = await clientFor(flags);
      const worker = await client.getWorker(workerId);
      const judged = await judge(client, worker, flags);
      if (flags.json) return printJson({ ...worker, ...judged });
      const { details } = worker;
      const data = details.workerTypeData;
      say(`worker ${workerId}`);
      say(`  type ${TYPE[worker.workerType] ?? worker.workerType}, status ${STATUS[worker.status] ?? worker.status}, organization ${worker.organizationId}`);
      say(`  algorithms: ${details.hashingAlgorithm}, ${details.signingAlgorithm}, ${details.keyEncryptionAlgorithm}, ${details.dataEncryptionAlgorithm}`);
      say(`  verification key sha256 ${fingerprint(data.verificationKey)}…, encryption key sha256 ${fingerprint(data.encryptionKey)}…`);
      if (judged.verdict) for (const line of verdictLines(judged.verdict, judged.issuedAt)) say(line);
      else say(`  evidence ${data.proofDataType ?? 'none'}`);
      say(
        judged.trusted
          ? `  trusted under the ${flags.policy} policy${judged.simulated ? ' — SIMULATED TEE: no hardware isolation, development only' : ''}`
          : `  NOT trusted under the ${flags.policy} policy: ${judged.reason}`,
      );
    });
}
