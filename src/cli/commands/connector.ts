/**
 * `tcf connector ethereum`: a TCS node (as `tcf node start` would run it) plus the Ethereum connector
 * on its store — the node's workers are registered on chain, and work orders submitted to them there
 * are run by the node and completed on chain.
 */
import type { Command } from 'commander';
import { createLogger } from '../../log/index.js';
import { startNode } from '../../node/node.js';
import { DEV_CHAIN_ID, EthereumConnector } from '../../proxy/ethereum/index.js';
import { CliUsageError, ledgerFor, stopOnSignal, wholeNumber, withAccountOptions } from '../context.js';
import { printJson, say } from '../output.js';
import { nodeConfigFromFlags, withNodeOptions, type NodeFlags } from './node.js';

/** Chains with instant finality (Besu's QBFT/IBFT, a dev chain) need no confirmations; 12 covers proof-of-stake Ethereum's usual reorg depth. */
const DEFAULT_CONFIRMATIONS = 12;

interface ConnectorFlags extends NodeFlags {
  rpc?: string;
  contracts?: string;
  accountKey?: string;
  devAccount?: number;
  confirmations?: number;
  pollInterval: number;
  json?: boolean;
}

export function registerConnectorCommands(program: Command): void {
  const connector = program
    .command('connector')
    .description('Bridge a ledger to a TCS (the proxy model).')
    .addHelpText('after', '\nExample:\n  tcf connector ethereum --rpc http://127.0.0.1:8545 --contracts deployment.json --dev-account 1');
  withAccountOptions(withNodeOptions(connector.command('ethereum')))
    .description('Run a TCS and connect it to TCF\'s contracts on an Ethereum chain: register its workers, run the work orders submitted to them, post results and receipt updates.')
    .option('--contracts <file>', 'the deployment file of `tcf contracts deploy`', process.env.TCF_ETHEREUM_CONTRACTS)
    .option('--confirmations <n>', `blocks to wait before acting on an event: the re-org depth survived (default ${DEFAULT_CONFIRMATIONS}; 0 on a local development chain)`, wholeNumber)
    .option('--poll-interval <ms>', 'how often to look for new blocks', wholeNumber, 1_000)
    .option('--json', 'print the ready line as JSON (for scripts)')
    .addHelpText(
      'after',
      [
        '',
        'The account (--account-key or TCF_ETHEREUM_KEY) registers the workers and pays for completions;',
        'only it can complete their work orders. Progress is kept in <data dir>/connector/, so a restart',
        'resumes where it stopped: no work order is skipped or completed twice.',
        '',
        'Examples:',
        '  tcf connector ethereum --rpc http://besu:8545 --contracts deployment.json --account-key worker.key --confirmations 0',
        '  tcf connector ethereum --rpc http://127.0.0.1:8545 --contracts deployment.json --dev-account 1 --port 0',
      ].join('\n'),
    )
    .action(async (flags: ConnectorFlags) => {
      const config = nodeConfigFromFlags(flags);
      const connection = await ledgerFor(flags);
      if (!connection.account) throw new CliUsageError('the connector sends transactions: give --account-key, TCF_ETHEREUM_KEY or --dev-account');
      const confirmations = flags.confirmations ?? (connection.deployment.chainId === DEV_CHAIN_ID ? 0 : DEFAULT_CONFIRMATIONS);
      const log = createLogger('tcs');
      let running;
      try {
        running = await startNode(config, log);
      } catch (error) {
        connection.close();
        throw error;
      }
      const bridge = new EthereumConnector({
        ledger: connection.ledger,
        deployment: connection.deployment,
        store: running.store,
        dataDir: config.dataDir,
        confirmations,
        pollIntervalMs: flags.pollInterval,
        maxPendingWorkOrders: config.listener.maxPendingWorkOrders,
        log: log.child('connector'),
      });
      try {
        await bridge.start();
      } catch (error) {
        await running.stop();
        connection.close();
        throw error;
      }
      running.listener?.metrics.addSource(() => bridge.metricLines());
      const workers = running.manager?.managedWorkers.map((worker) => ({ name: worker.name, workerId: worker.workerId })) ?? [];
      if (flags.json) {
        printJson({ url: running.url, account: connection.account, chainId: connection.deployment.chainId, confirmations, workers, pids: running.manager?.processIds ?? [] });
      } else {
        say(`connector ready: account ${connection.account} on chain ${connection.deployment.chainId}, ${confirmations} confirmation(s)`);
        if (running.url) say(`  the TCS also answers JSON-RPC at ${running.url}`);
        for (const worker of workers) say(`  worker ${worker.name}  id ${worker.workerId}  (SIMULATED TEE: development only)`);
      }
      stopOnSignal(async () => {
        await bridge.stop();
        await running.stop();
        connection.close();
      });
    });
}
