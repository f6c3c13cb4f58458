/**
 * `tcf node start`: runs a Trusted Compute Service (listener, enclave manager and worker processes)
 * until SIGINT/SIGTERM, optionally walking through one worked example against itself.
 */
import type { Command } from 'commander';
import { environmentVariables, loadConfig, type Json, type NodeConfig } from '../../config/index.js';
import { createLogger } from '../../log/index.js';
import { startNode } from '../../node/node.js';
import { stopOnSignal } from '../context.js';
import { runWorkedExample } from '../example.js';
import { printJson, say } from '../output.js';

export interface NodeFlags {
  config?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  store?: string;
  role?: string;
  workers?: string;
  processes?: string;
  nodeId?: string;
}

interface StartFlags extends NodeFlags {
  example?: boolean;
  json?: boolean;
}

/** The options that shape a node, shared by `tcf node start` and `tcf connector ethereum`. */
export function withNodeOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'JSON config file (defaults are documented in docs/configuration.md)')
    .option('--host <host>', 'listener address', undefined)
    .option('-p, --port <port>', 'listener port (0 = any free port)')
    .option('-d, --data-dir <dir>', 'where the store, sealed keys and workload data live')
    .option('--store <location>', 'postgres://… URL, or empty for LMDB under the data dir')
    .option('--role <role>', 'all | listener | manager')
    .option('--workers <names>', 'comma-separated worker names (workerId = SHA-256 of the name)')
    .option('--processes <n>', 'worker processes per worker')
    .option('--node-id <id>', 'stable name of this node (its claims carry it across restarts)');
}

/** Defaults, then the config file, then TCF_* variables, then these flags. */
export function nodeConfigFromFlags(flags: NodeFlags): NodeConfig {
  const overrides: Record<string, Json> = {};
  const listener: Record<string, Json> = {};
  const workers: Record<string, Json> = {};
  if (flags.host !== undefined) listener.host = flags.host;
  if (flags.port !== undefined) listener.port = Number(flags.port);
  if (flags.workers !== undefined) workers.names = flags.workers.split(',').map((name) => name.trim()).filter(Boolean);
  if (flags.processes !== undefined) workers.processesPerWorker = Number(flags.processes);
  if (Object.keys(listener).length > 0) overrides.listener = listener;
  if (Object.keys(workers).length > 0) overrides.workers = workers;
  if (flags.dataDir !== undefined) overrides.dataDir = flags.dataDir;
  if (flags.store !== undefined) overrides.store = flags.store;
  if (flags.role !== undefined) overrides.role = flags.role;
  if (flags.nodeId !== undefined) overrides.nodeId = flags.nodeId;
  const loadOptions: Parameters<typeof loadConfig>[0] = { overrides };
  if (flags.config !== undefined) loadOptions.file = flags.config;
  return loadConfig(loadOptions);
}

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('Run a Trusted Compute Service node.');
  withNodeOptions(node.command('start'))
    .description('Start a TCS: JSON-RPC listener, enclave manager and simulated-TEE worker processes.')
    .option('--example', 'after start, run one worked example work order against this node and explain each step')
    .option('--json', 'print the ready line as JSON (for scripts)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  tcf node start                          # LMDB under ./data, listener on 127.0.0.1:1947',
        '  tcf node start --port 0 --json          # any free port; prints {"url":…} when ready',
        '  TCF_LISTENER_PORT=8080 tcf node start   # every setting has an environment variable',
        '',
        'Environment variables:',
        ...environmentVariables().map(({ variable, setting }) => `  ${variable.padEnd(44)} ${setting}`),
      ].join('\n'),
    )
    .action(async (flags: StartFlags) => {
      const config = nodeConfigFromFlags(flags);
      const log = createLogger('tcs');
      const running = await startNode(config, log);
      const workerList = running.manager?.managedWorkers.map((worker) => ({ name: worker.name, workerId: worker.workerId })) ?? [];
      if (flags.json) printJson({ url: running.url, role: config.role, dataDir: config.dataDir, workers: workerList, pids: running.manager?.processIds ?? [] });
      else {
        say(`TCS ready: ${running.url || '(manager only)'}  role=${config.role}  data=${config.dataDir}`);
        for (const worker of workerList) say(`  worker ${worker.name}  id ${worker.workerId}  (SIMULATED TEE: development only)`);
      }
      stopOnSignal(() => running.stop());
      if (flags.example && running.url && workerList[0]) {
        await runWorkedExample(running.url, workerList[0].workerId, say);
        say('');
        say('The node keeps serving. Press Ctrl-C to stop it.');
      }
    });
}
