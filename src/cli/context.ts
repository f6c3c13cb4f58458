/**
 * What the client commands share: the options that reach a TCS or a ledger (--url, or --ledger
 * ethereum with --rpc, --contracts and an account; --json, --policy), the
 * requester's home ($TCF_HOME or ~/.tcf) with its key pair, and the saved secrets of asynchronous
 * work orders, which `tcf result` needs to open their results later. Those files hold the work
 * order's session key and per-item keys — secrets that decrypt its inputs and result — so they are
 * written 0600 in a 0700 folder and say so in their first field.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { bytesToHex, hexToBytes } from '../crypto/encoding.js';
import { generateSigningKey, signingKeyFromPem, signingKeyToPem, type SigningKeyPair } from '../crypto/keys.js';
import { DEVELOPMENT_POLICY, HARDWARE_ONLY_POLICY, parseTrustPolicy, PolicyError, type TrustPolicy } from '../attestation/policy.js';
import type { TrustedWorker } from '../attestation/worker-trust.js';
import { TcfClient, type Submission } from '../client/client.js';
import { WorkOrderSubmitParams } from '../protocol/messages.js';
import { AccountError, connectLedger, EthereumRequesterBackend, type AccountChoice, type ConnectOptions, type LedgerConnection } from '../proxy/ethereum/index.js';
import { validate } from '../protocol/schema.js';

export interface ClientFlags {
  url: string;
  json?: boolean;
  policy: string;
  ledger: string;
  rpc?: string;
  contracts?: string;
  registrant?: string;
  accountKey?: string;
  devAccount?: number;
}

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export function withClientOptions(command: Command): Command {
  return withAccountOptions(
    command
      .option('--url <url>', 'the TCS to talk to (direct model)', process.env.TCF_URL ?? 'http://127.0.0.1:1947')
      .option('--ledger <model>', 'direct (JSON-RPC to --url) or ethereum (the contracts at --contracts, through --rpc)', process.env.TCF_LEDGER ?? 'direct')
      .option('--contracts <file>', 'with --ledger ethereum: the deployment file of `tcf contracts deploy`', process.env.TCF_ETHEREUM_CONTRACTS)
      .option(
        '--registrant <addresses>',
        'with --ledger ethereum: the accounts (comma-separated) of the TCSs you use; a worker registered on chain by any other account is not trusted',
        process.env.TCF_ETHEREUM_REGISTRANT,
      ),
  )
    .option(
      '--policy <policy>',
      'trust policy for worker evidence: development (allows the simulated TEE), hardware (genuine TEE, any code), or a policy JSON file (docs/attestation.md)',
      'development',
    )
    .option('--json', 'one JSON document on stdout, for scripts');
}

/** The Ethereum node and the account that pays for transactions: shared by the client commands, the connector and the deployer. */
export function withAccountOptions(command: Command): Command {
  return command
    .option('--rpc <url>', 'the Ethereum node\'s JSON-RPC URL', process.env.TCF_ETHEREUM_RPC)
    .option('--account-key <file>', 'file holding the Ethereum account\'s private key (0x-hex); or set TCF_ETHEREUM_KEY')
    .option('--dev-account <n>', 'use public development account n (local development chains only)', wholeNumber);
}

/** The account chosen by --account-key, TCF_ETHEREUM_KEY or --dev-account; undefined when none is (read-only). */
export function accountChoice(flags: { accountKey?: string; devAccount?: number }): AccountChoice | undefined {
  if (flags.accountKey !== undefined && flags.devAccount !== undefined) throw new CliUsageError('give --account-key or --dev-account, not both');
  if (flags.devAccount !== undefined) return { devAccount: flags.devAccount };
  if (flags.accountKey !== undefined) {
    try {
      return { privateKey: fs.readFileSync(flags.accountKey, 'utf8') };
    } catch (error) {
      throw new CliUsageError(`--account-key ${flags.accountKey}: ${(error as Error).message}`);
    }
  }
  const fromEnvironment = process.env.TCF_ETHEREUM_KEY;
  return fromEnvironment ? { privateKey: fromEnvironment } : undefined;
}

/**
 * Connects to the contracts named by --rpc and --contracts. One-shot commands leave the connection
 * open: destroying the provider cancels ethers' last block poll after a mined transaction, which then
 * rejects with nobody listening, and an idle provider does not keep the process alive anyway. The
 * connector, which runs on, closes it when it stops.
 */
export async function ledgerFor(flags: { rpc?: string; contracts?: string; accountKey?: string; devAccount?: number }): Promise<LedgerConnection> {
  if (!flags.rpc) throw new CliUsageError('the Ethereum ledger needs --rpc <url> (or TCF_ETHEREUM_RPC)');
  if (!flags.contracts) throw new CliUsageError('the Ethereum ledger needs --contracts <deployment file> (or TCF_ETHEREUM_CONTRACTS)');
  const options: ConnectOptions = { rpcUrl: flags.rpc, deploymentFile: flags.contracts };
  const account = accountChoice(flags);
  if (account) options.account = account;
  try {
    return await connectLedger(options);
  } catch (error) {
    if (error instanceof AccountError) throw new CliUsageError(error.message);
    throw error;
  }
}

/** Parses a whole-number option value, so a typo is a usage error (exit 2) instead of a NaN sent to the TCS. */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** `--policy`: the name of a built-in policy, or the path of a policy JSON file. */
export function trustPolicy(flags: { policy: string }): TrustPolicy {
  if (flags.policy === 'development') return DEVELOPMENT_POLICY;
  if (flags.policy === 'hardware') return HARDWARE_ONLY_POLICY;
  let text: string;
  try {
    text = fs.readFileSync(flags.policy, 'utf8');
  } catch (error) {
    throw new CliUsageError(`--policy must be development, hardware or a policy file; cannot read ${JSON.stringify(flags.policy)}: ${(error as Error).message}`);
  }
  try {
    return parseTrustPolicy(text);
  } catch (error) {
    if (error instanceof PolicyError) throw new CliUsageError(`policy ${flags.policy}: ${error.message}`);
    throw error;
  }
}

/** The SDK client for the chosen way in: the TCS at --url, or the contracts on an Ethereum chain. */
export async function clientFor(flags: ClientFlags): Promise<TcfClient> {
  const options = { trustPolicy: trustPolicy(flags) };
  if (flags.ledger === 'direct') return new TcfClient(flags.url, options);
  if (flags.ledger !== 'ethereum') throw new CliUsageError(`--ledger must be direct or ethereum, not ${JSON.stringify(flags.ledger)}`);
  const { ledger, deployment } = await ledgerFor(flags);
  // A chain answers in blocks, not milliseconds: polling faster than a block only costs the node.
  const registrants = flags.registrant?.split(',').map((address) => address.trim()).filter(Boolean);
  if (registrants?.some((address) => !/^0x[0-9a-fA-F]{40}$/.test(address))) throw new CliUsageError('--registrant takes Ethereum addresses (0x and 40 hex digits), comma-separated');
  const backend = new EthereumRequesterBackend(ledger, deployment, registrants ? { registrants } : {});
  return new TcfClient(backend, { ...options, pollIntervalMs: 500 });
}

/** The requester's private folder: keys and saved work-order secrets live here, readable by the owner only. */
export function tcfHome(): string {
  const home = process.env.TCF_HOME ?? path.join(os.homedir(), '.tcf');
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  return home;
}

const keyFile = () => path.join(tcfHome(), 'requester-key.pem');

export function loadRequesterKey(): SigningKeyPair | undefined {
  try {
    return signingKeyFromPem(fs.readFileSync(keyFile(), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function requireRequesterKey(): SigningKeyPair {
  const key = loadRequesterKey();
  if (!key) throw new CliUsageError('no requester key yet: create one with `tcf keys create`');
  return key;
}

export function createRequesterKey(force: boolean): SigningKeyPair {
  if (!force && fs.existsSync(keyFile())) throw new CliUsageError(`${keyFile()} exists; --force replaces it (the old requesterId is then lost)`);
  const key = generateSigningKey();
  fs.writeFileSync(keyFile(), signingKeyToPem(key), { mode: 0o600 });
  fs.chmodSync(keyFile(), 0o600);
  return key;
}

/**
 * A saved asynchronous work order. It holds the session key and per-item keys: anyone who reads this
 * file can decrypt the work order's inputs and results, hence 0600 in a 0700 folder.
 */
interface SavedOrder {
  warning: string;
  params: unknown;
  sessionKey: string;
  sessionKeyIv: string;
  requestHash: string;
  outputKeys: [number, string][];
  worker: TrustedWorker;
}

function orderFile(workOrderId: string): string {
  if (!/^[0-9a-fA-Fx]{1,256}$/.test(workOrderId)) throw new CliUsageError(`${JSON.stringify(workOrderId)} is not a work order id`);
  const folder = path.join(tcfHome(), 'orders');
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  return path.join(folder, `${workOrderId.toLowerCase()}.json`);
}

const SECRET_WARNING =
  'SECRET: sessionKey and outputKeys decrypt this work order\'s inputs and result. Keep this file private (0600); delete it once `tcf result` has opened the result.';

export function saveOrder(submission: Submission): string {
  const { secrets, params } = submission.built;
  const saved: SavedOrder = {
    warning: SECRET_WARNING,
    params,
    sessionKey: bytesToHex(secrets.sessionKey),
    sessionKeyIv: bytesToHex(secrets.sessionKeyIv),
    requestHash: bytesToHex(secrets.requestHash),
    outputKeys: [...secrets.outputKeys].map(([index, key]) => [index, bytesToHex(key)]),
    worker: submission.worker,
  };
  const file = orderFile(submission.workOrderId);
  fs.writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
  return file;
}

export function loadOrder(workOrderId: string): Submission {
  let saved: SavedOrder;
  try {
    saved = JSON.parse(fs.readFileSync(orderFile(workOrderId), 'utf8')) as SavedOrder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliUsageError(`no saved secrets for work order ${workOrderId} in ${path.dirname(orderFile(workOrderId))}: only work orders submitted from this home can be opened`);
    }
    throw error;
  }
  const params = validate(WorkOrderSubmitParams, saved.params);
  if (!params.ok) throw new CliUsageError(`saved work order ${workOrderId} is damaged: ${params.error.message}`);
  return {
    workOrderId: params.value.workOrderId,
    worker: saved.worker,
    built: {
      params: params.value,
      secrets: {
        sessionKey: hexToBytes(saved.sessionKey),
        sessionKeyIv: hexToBytes(saved.sessionKeyIv),
        requestHash: hexToBytes(saved.requestHash),
        outputKeys: new Map(saved.outputKeys.map(([index, key]) => [index, hexToBytes(key)])),
      },
    },
  };
}

/** Keeps a long-running command (a node, a connector) up until SIGINT or SIGTERM, then runs `shutdown` once and exits 0. */
export function stopOnSignal(shutdown: () => Promise<void>): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
