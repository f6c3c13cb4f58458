/**
 * Reaching deployed contracts from a process: a JSON-RPC provider for the node's URL, the account that
 * signs (a private key, or one of the public development accounts — only on a development chain), the
 * deployment file, and the compiled ABIs. The CLI, the connector and the requester backend start here.
 */
import { JsonRpcProvider, Wallet } from 'ethers';
import { TransportError, fetchFailureReason } from '../../client/rpc-client.js';
import { compileContracts } from './compile.js';
import { DEV_CHAIN_ID, devAccounts } from './anvil.js';
import { readDeploymentFile, type Deployment } from './deploy.js';
import { EthereumLedger } from './ledger.js';

/** Who signs: a private key (0x-hex), or development account N of the public test mnemonic. */
export type AccountChoice = { privateKey: string } | { devAccount: number };

export interface ConnectOptions {
  rpcUrl: string;
  deploymentFile: string;
  /** Absent: read-only. */
  account?: AccountChoice;
  /** How often ethers polls for a mined transaction (default 250 ms; a production chain's blocks take seconds). */
  pollingIntervalMs?: number;
}

export interface LedgerConnection {
  ledger: EthereumLedger;
  deployment: Deployment;
  provider: JsonRpcProvider;
  /** The signing account's address, when there is one. */
  account: string | undefined;
  close(): void;
}

export class AccountError extends Error {
  override readonly name = 'AccountError';
}

export function signerFor(choice: AccountChoice, chainId: number, provider: JsonRpcProvider): Wallet {
  if ('devAccount' in choice) {
    // Their keys are public: anyone could spend from them on a real chain.
    if (chainId !== DEV_CHAIN_ID) throw new AccountError(`development accounts are only for a local development chain (id ${DEV_CHAIN_ID}); this chain is ${chainId}`);
    const account = devAccounts(choice.devAccount + 1)[choice.devAccount];
    if (!account) throw new AccountError(`there is no development account ${choice.devAccount}`);
    return new Wallet(account.privateKey, provider);
  }
  try {
    return new Wallet(choice.privateKey.trim(), provider);
  } catch {
    throw new AccountError('the account key is not a secp256k1 private key (32 bytes, 0x-hex)');
  }
}

/**
 * A provider for the node at `rpcUrl` and the chain id it answers; TransportError when it does not
 * answer. The id is asked with one plain request first, so the provider can be told its network:
 * an ethers provider left to find it out retries, and logs, forever while the node is down.
 */
export async function openProvider(rpcUrl: string, pollingIntervalMs = 250): Promise<{ provider: JsonRpcProvider; chainId: number }> {
  let chainId: number;
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(30_000),
    });
    const { result } = (await response.json()) as { result?: unknown };
    if (typeof result !== 'string' || !/^0x[0-9a-fA-F]+$/.test(result)) throw new Error(`eth_chainId answered ${JSON.stringify(result)}`);
    chainId = Number(result);
  } catch (error) {
    throw new TransportError(`cannot reach the Ethereum node at ${rpcUrl}: ${fetchFailureReason(error)}`);
  }
  // cacheTimeout -1: a cached block number or nonce would be stale on a chain that mines each transaction at once.
  const provider = new JsonRpcProvider(rpcUrl, chainId, { staticNetwork: true, batchMaxCount: 1, pollingInterval: pollingIntervalMs, cacheTimeout: -1 });
  return { provider, chainId };
}

/** Connects to the node, checks it is the deployment's chain, and returns a ledger for the deployed contracts. */
export async function connectLedger(options: ConnectOptions): Promise<LedgerConnection> {
  const deployment = readDeploymentFile(options.deploymentFile);
  const { provider, chainId } = await openProvider(options.rpcUrl, options.pollingIntervalMs);
  try {
    if (chainId !== deployment.chainId) throw new Error(`the node at ${options.rpcUrl} is chain ${chainId}, but ${options.deploymentFile} is for chain ${deployment.chainId}`);
    const signer = options.account ? signerFor(options.account, chainId, provider) : undefined;
    const { artifacts } = await compileContracts();
    const ledger = new EthereumLedger({ deployment, artifacts, runner: signer ?? provider });
    return { ledger, deployment, provider, account: signer?.address, close: () => provider.destroy() };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}
