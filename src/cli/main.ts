/**
 * cli/ is the `tcf` command line: one module per command group under commands/, wired here.
 * Exit codes: 0 success, 1 the operation failed (the message says why), 2 usage error,
 * 3 the TCS could not be reached, 4 a worker or result failed verification.
 */
import { Command, CommanderError } from 'commander';
import { registerNodeCommands } from './commands/node.js';
import { reportFailure } from './output.js';

const program = new Command('tcf')
  .description('Trusted Compute Framework: run a Trusted Compute Service and submit work orders to it.')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerNodeCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  process.exit(reportFailure(error, process.argv.includes('--json')));
}
