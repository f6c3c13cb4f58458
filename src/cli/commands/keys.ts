/**
 * `tcf keys create|show`: the requester's secp256k1 key pair, kept in $TCF_HOME (0600) and never
 * printed. Its public half defines the requesterId (hex SHA-256 of the key's SPKI DER).
 */
import type { Command } from 'commander';
import { requesterIdForKey } from '../../crypto/keys.js';
import { createRequesterKey, requireRequesterKey, tcfHome } from '../context.js';
import { printJson, say } from '../output.js';

export function registerKeyCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description("Manage this requester's signing key pair.")
    .addHelpText('after', '\nExamples:\n  tcf keys create\n  TCF_HOME=./alice tcf keys show');
  keys
    .command('create')
    .description('Create the requester key pair used by `tcf submit --sign` and receipts.')
    .option('--force', 'replace an existing key (its requesterId is lost)')
    .option('--json', 'print {requesterId, publicKeyPem} as JSON')
    .addHelpText('after', '\nExample:\n  tcf keys create && tcf submit --workload echo-result --in hi --sign')
    .action((flags: { force?: boolean; json?: boolean }) => {
      const key = createRequesterKey(flags.force === true);
      const shown = { requesterId: requesterIdForKey(key.publicKey), publicKeyPem: key.publicKeyPem, home: tcfHome() };
      if (flags.json) return printJson(shown);
      say(`created a requester key in ${shown.home} (private half readable by you only)`);
      say(`requesterId ${shown.requesterId}`);
    });
  keys
    .command('show')
    .description('Show the public key and requesterId (never the private key).')
    .option('--json', 'print {requesterId, publicKeyPem} as JSON')
    .addHelpText('after', '\nExample:\n  tcf keys show --json')
    .action((flags: { json?: boolean }) => {
      const key = requireRequesterKey();
      const shown = { requesterId: requesterIdForKey(key.publicKey), publicKeyPem: key.publicKeyPem };
      if (flags.json) return printJson(shown);
      say(`requesterId ${shown.requesterId}`);
      process.stdout.write(shown.publicKeyPem);
    });
}
