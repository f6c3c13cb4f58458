/**
 * `tcf contracts deploy`: compiles TCF's contracts (cached in build/) and deploys them to an Ethereum
 * chain, writing the deployment file every other command and the connector read.
 */
import type { Command } from 'commander';
import { AccountError, compileContracts, deployContracts, openProvider, signerFor, writeDeploymentFile, DEFAULT_LOOKUP_PAGE_SIZE } from '../../proxy/ethereum/index.js';
import { accountChoice, CliUsageError, wholeNumber, withAccountOptions } from '../context.js';
import { printJson, say } from '../output.js';

interface DeployFlags {
  rpc?: string;
  accountKey?: string;
  devAccount?: number;
  out: string;
  pageSize: number;
  json?: boolean;
}

export function registerContractCommands(program: Command): void {
  const contracts = program
    .command('contracts')
    .description('Deploy TCF\'s registries to an Ethereum chain (the proxy model).')
    .addHelpText('after', '\nExample:\n  tcf contracts deploy --rpc http://127.0.0.1:8545 --dev-account 0 --out deployment.json');
  withAccountOptions(contracts.command('deploy'))
    .description('Compile and deploy the worker registry list, worker registry, work order registry and receipt registry.')
    .option('--out <file>', 'where to write the deployment file', 'deployment.json')
    .option('--page-size <n>', 'ids per lookup page in the registries', wholeNumber, DEFAULT_LOOKUP_PAGE_SIZE)
    .option('--json', 'print the deployment as JSON')
    .addHelpText(
      'after',
      [
        '',
        'The deploying account owns the worker registry list. Give the deployment file to the connector',
        'and to requesters (--contracts); it holds the chain id, the block of deployment and the addresses.',
        '',
        'Examples:',
        '  tcf contracts deploy --rpc http://besu:8545 --account-key owner.key --out deployment.json',
        '  tcf contracts deploy --rpc http://127.0.0.1:8545 --dev-account 0',
      ].join('\n'),
    )
    .action(async (flags: DeployFlags) => {
      if (!flags.rpc) throw new CliUsageError('give --rpc <url> (or TCF_ETHEREUM_RPC)');
      const account = accountChoice(flags);
      if (!account) throw new CliUsageError('deploying sends transactions: give --account-key, TCF_ETHEREUM_KEY or --dev-account');
      const { provider, chainId } = await openProvider(flags.rpc);
      let signer;
      try {
        signer = signerFor(account, chainId, provider);
      } catch (error) {
        if (error instanceof AccountError) throw new CliUsageError(error.message);
        throw error;
      }
      const { artifacts } = await compileContracts();
      const deployment = await deployContracts(signer, artifacts, { lookUpPageSize: flags.pageSize });
      writeDeploymentFile(flags.out, deployment);
      if (flags.json) return printJson({ ...deployment, file: flags.out, deployer: signer.address });
      say(`deployed on chain ${deployment.chainId} at block ${deployment.deployedAtBlock} by ${signer.address} → ${flags.out}`);
      for (const [name, address] of Object.entries(deployment.addresses)) say(`  ${name.padEnd(26)} ${address}`);
    });
}
