/**
 * cli/ is the `tcf` command line: one module per command group under commands/, wired here.
 * Exit codes: 0 success, 1 the operation failed (the message says why), 2 usage error,
 * 3 the TCS could not be reached, 4 a worker or result failed verification, 6 the result is still pending
 * (`tcf result` without --wait, or a wait that timed out; 5 is left unused so that it never reads as the
 * spec's error code 5, "pending").
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerAttestationCommands } from './commands/attestation.js';
import { registerConnectorCommands } from './commands/connector.js';
import { registerContractCommands } from './commands/contracts.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerNodeCommands } from './commands/node.js';
import { registerReceiptCommands } from './commands/receipts.js';
import { registerSubmitCommands } from './commands/submit.js';
import { registerWorkerCommands } from './commands/workers.js';
import { ExitCode, reportFailure } from './output.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('tcf')
  .version(version)
  .description('Trusted Compute Framework: run a Trusted Compute Service and submit work orders to it, directly or through a ledger.')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    [
      '',
      'Examples (start here):',
      '  tcf demo                                   # a TCS, three workloads, every step explained',
      '  tcf node start                             # run a TCS on 127.0.0.1:1947',
      '  tcf submit --workload echo-result --in hi  # one work order against it',
      '  tcf workers show <id> --policy policy.json # is this worker\'s TEE evidence good enough?',
      '',
      'Through an Ethereum chain (the proxy model; README: "The proxy model on Ethereum"):',
      '  tcf contracts deploy --rpc <url> --account-key owner.key --out deployment.json',
      '  tcf connector ethereum --rpc <url> --contracts deployment.json --account-key worker.key',
      '  tcf submit --ledger ethereum --rpc <url> --contracts deployment.json --account-key me.key --workload echo-result --in hi',
    ].join('\n'),
  )
  .exitOverride();

registerNodeCommands(program);
registerDemoCommand(program);
registerWorkerCommands(program);
registerAttestationCommands(program);
registerSubmitCommands(program);
registerReceiptCommands(program);
registerKeyCommands(program);
registerContractCommands(program);
registerConnectorCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) process.exit(0);
    // Commander has already explained the mistake on stderr; a script asking for JSON still gets JSON.
    if (process.argv.includes('--json')) process.stdout.write(JSON.stringify({ error: { kind: 'UsageError', message: error.message } }) + '\n');
    process.exit(ExitCode.USAGE);
  }
  process.exit(reportFailure(error, process.argv.includes('--json')));
}
