/**
 * A throw-away local Ethereum node: a real anvil process (Foundry's dev node, shipped as a binary in
 * npm's @foundry-rs/anvil-<platform> packages) bound to 127.0.0.1 on a port the OS picks, with the
 * well-known development accounts funded. Tests start one per file; `tcf demo` will run on one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { HDNodeWallet, JsonRpcProvider, Wallet } from 'ethers';

/** Foundry's and Hardhat's development mnemonic. Its keys are public: they must never hold value on a real chain. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEV_CHAIN_ID = 31337;
/** The EVM rules the contracts are compiled for (compile.ts); anvil runs the same, so gas figures match. */
export const ANVIL_HARDFORK = 'cancun';

export interface DevAccount {
  address: string;
  privateKey: string;
}

export interface AnvilOptions {
  /** Funded development accounts to create (default 10). */
  accounts?: number;
  chainId?: number;
  /** How long to wait for the node to answer JSON-RPC (default 20 s). */
  startTimeoutMs?: number;
}

export interface AnvilNode {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly accounts: readonly DevAccount[];
  /** One provider shared by every wallet of this node; destroyed by stop(). */
  readonly provider: JsonRpcProvider;
  /** A wallet for development account `index`, connected to `provider`. */
  wallet(index: number): Wallet;
  /** Stops the node (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
}

const ARCH_SUFFIX: Partial<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };

/** The anvil binary inside the platform package that @foundry-rs/anvil installs; spawned directly, without its Node wrapper. */
export function anvilBinaryPath(): string {
  const arch = ARCH_SUFFIX[process.arch];
  const binary = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  const require = createRequire(import.meta.url);
  try {
    if (!arch) throw new Error(`no anvil build for ${process.arch}`);
    return require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/${binary}`);
  } catch (error) {
    throw new Error(`anvil is not installed for ${process.platform}-${process.arch} (npm package @foundry-rs/anvil): ${(error as Error).message}`);
  }
}

export function devAccounts(count: number): DevAccount[] {
  const root = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, "m/44'/60'/0'/0");
  return Array.from({ length: count }, (_, index) => {
    const child = root.deriveChild(index);
    return { address: child.address, privateKey: child.privateKey };
  });
}

/** Reads anvil's "Listening on 127.0.0.1:<port>" line: with --port 0 the OS picks a free port, so two nodes never race for one. */
function waitForListeningPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => finish(new Error(`anvil did not start listening within ${timeoutMs} ms:\n${output.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) finish(undefined, Number(match[1]));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`anvil exited before listening (${signal ?? `code ${code}`}):\n${output.slice(-2000)}`));
    const onError = (error: Error) => finish(error);
    function finish(error: Error | undefined, port?: number) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else resolve(port as number);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const accountCount = options.accounts ?? 10;
  const chainId = options.chainId ?? DEV_CHAIN_ID;
  const args = [
    '--host', '127.0.0.1',
    '--port', '0',
    '--chain-id', String(chainId),
    '--accounts', String(accountCount),
    '--mnemonic', DEV_MNEMONIC,
    '--hardfork', ANVIL_HARDFORK,
  ];
  const child = spawn(anvilBinaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // If this process ends without stop(), the node must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let port: number;
  try {
    port = await waitForListeningPort(child, options.startTimeoutMs ?? 20_000);
  } catch (error) {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    throw error;
  }
  // anvil logs every RPC call; the pipes must keep draining or it would block on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();

  const rpcUrl = `http://127.0.0.1:${port}`;
  // cacheTimeout -1: ethers otherwise answers a repeated eth_blockNumber or nonce query from a 250 ms
  // cache, and a node that mines each transaction at once makes that answer stale.
  const provider = new JsonRpcProvider(rpcUrl, chainId, { staticNetwork: true, batchMaxCount: 1, pollingInterval: 50, cacheTimeout: -1 });
  const accounts = devAccounts(accountCount);

  async function stop(): Promise<void> {
    provider.destroy();
    process.off('exit', killOnExit);
    const exited = waitForExit(child);
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(forced);
  }

  try {
    const answered = Number(await provider.send('eth_chainId', []));
    if (answered !== chainId) throw new Error(`anvil answered chain id ${answered}, expected ${chainId}`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    rpcUrl,
    chainId,
    accounts,
    provider,
    wallet(index: number): Wallet {
      const account = accounts[index];
      if (!account) throw new RangeError(`anvil has ${accounts.length} development accounts; there is no account ${index}`);
      return new Wallet(account.privateKey, provider);
    },
    stop,
  };
}
