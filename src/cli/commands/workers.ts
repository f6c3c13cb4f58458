/**
 * `tcf workers list|show`: the workers a TCS offers, and whether each one's evidence and key binding
 * pass the trust policy.
 */
import type { Command } from 'commander';
import { sha256 } from '../../crypto/primitives.js';
import { utf8 } from '../../crypto/encoding.js';
import { DEVELOPMENT_POLICY } from '../../attestation/evidence.js';
import { SIMULATED_PROOF_TYPE } from '../../attestation/simulated.js';
import { trustWorker, UntrustedWorkerError } from '../../attestation/worker-trust.js';
import type { WorkerRecord } from '../../protocol/messages.js';
import { clientFor, trustPolicy, wholeNumber, withClientOptions, type ClientFlags } from '../context.js';
import { printJson, say } from '../output.js';

const STATUS = ['', 'active', 'off-line', 'decommissioned', 'compromised'];
const TYPE = ['', 'TEE', 'MPC', 'ZK'];

interface Verdict {
  trusted: boolean;
  reason: string;
  simulated: boolean;
  /** Verified under the policy. */
  measurement?: string;
  /** What the evidence of a refused worker states, unverified: kept apart so no script mistakes it for attested. */
  statedMeasurement?: string;
}

function verdict(worker: WorkerRecord, flags: ClientFlags): Verdict {
  const simulated = worker.details.workerTypeData.proofDataType === SIMULATED_PROOF_TYPE;
  try {
    const trusted = trustWorker(worker, trustPolicy(flags));
    return { trusted: true, reason: '', simulated, measurement: trusted.evidence.measurement };
  } catch (error) {
    if (!(error instanceof UntrustedWorkerError)) throw error;
    const judged: Verdict = { trusted: false, reason: error.message, simulated };
    // A worker refused only for being simulated still has a readable measurement, worth showing as unverified.
    if (simulated) {
      try {
        judged.statedMeasurement = trustWorker(worker, DEVELOPMENT_POLICY).evidence.measurement;
      } catch (secondError) {
        if (!(secondError instanceof UntrustedWorkerError)) throw secondError;
      }
    }
    return judged;
  }
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
        rows.push({ workerId, workerType: worker.workerType, status: worker.status, proofDataType: worker.details.workerTypeData.proofDataType ?? '', ...verdict(worker, flags) });
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
      const worker = await (await clientFor(flags)).getWorker(workerId);
      const judged = verdict(worker, flags);
      if (flags.json) return printJson({ ...worker, ...judged });
      const { details } = worker;
      const data = details.workerTypeData;
      say(`worker ${workerId}`);
      say(`  type ${TYPE[worker.workerType] ?? worker.workerType}, status ${STATUS[worker.status] ?? worker.status}, organization ${worker.organizationId}`);
      say(`  algorithms: ${details.hashingAlgorithm}, ${details.signingAlgorithm}, ${details.keyEncryptionAlgorithm}, ${details.dataEncryptionAlgorithm}`);
      say(`  verification key sha256 ${fingerprint(data.verificationKey)}…, encryption key sha256 ${fingerprint(data.encryptionKey)}…`);
      const measurement = judged.measurement
        ? `, measurement ${judged.measurement}`
        : judged.statedMeasurement
          ? `, measurement ${judged.statedMeasurement} (as the evidence states it, not verified under this policy)`
          : '';
      say(`  evidence ${data.proofDataType ?? 'none'}${measurement}`);
      say(judged.trusted ? `  trusted under the ${flags.policy} policy${judged.simulated ? ' — SIMULATED TEE: no hardware isolation, development only' : ''}` : `  NOT trusted: ${judged.reason}`);
    });
}
