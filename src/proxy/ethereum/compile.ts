/**
 * Compiling the contracts: every contracts/*.sol goes through solc-js (standard JSON, optimizer on, EVM
 * pinned to cancun so the bytecode and its gas do not move with solc's default), and each deployable
 * contract's ABI and bytecode are written to build/contracts.json. Any compiler error or warning fails the build. The output is
 * keyed by a hash of compiler, settings and sources, so `npm run build:contracts`, the tests, `tcf contracts
 * deploy` and the demo all share one compilation and recompile only when a source changes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONTRACT_NAMES,
  DEFAULT_ARTIFACTS_FILE,
  readContractArtifacts,
  type ContractArtifact,
  type ContractArtifacts,
  type ContractName,
} from './artifacts.js';

/** contracts/ at the repository root. */
export const CONTRACTS_DIR = fileURLToPath(new URL('../../../contracts/', import.meta.url));

export const COMPILER_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
} as const;

interface SolcMessage {
  severity: 'error' | 'warning' | 'info';
  formattedMessage: string;
}

interface SolcOutput {
  errors?: SolcMessage[];
  contracts?: Record<string, Record<string, { abi: ContractArtifact['abi']; evm: { bytecode: { object: string } } }>>;
}

export class ContractCompileError extends Error {
  override readonly name = 'ContractCompileError';
}

function readSources(contractsDir: string): Record<string, { content: string }> {
  const files = fs.readdirSync(contractsDir).filter((file) => file.endsWith('.sol')).sort();
  if (files.length === 0) throw new ContractCompileError(`no .sol files in ${contractsDir}`);
  // Source unit names mirror the repository paths, so relative imports between contracts resolve.
  return Object.fromEntries(files.map((file) => [`contracts/${file}`, { content: fs.readFileSync(path.join(contractsDir, file), 'utf8') }]));
}

function solcPackageVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('solc/package.json') as { version: string }).version;
}

function hashInputs(sources: Record<string, { content: string }>): string {
  const hash = crypto.createHash('sha256');
  hash.update(`solc ${solcPackageVersion()}\n${JSON.stringify(COMPILER_SETTINGS)}\n`);
  for (const [name, { content }] of Object.entries(sources)) hash.update(`${name}\n${content.length}\n${content}`);
  return hash.digest('hex');
}

function cached(file: string, sourceHash: string): ContractArtifacts | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const artifacts = readContractArtifacts(file);
    return artifacts.sourceHash === sourceHash ? artifacts : undefined;
  } catch {
    return undefined;
  }
}

async function runSolc(sources: Record<string, { content: string }>): Promise<{ version: string; output: SolcOutput }> {
  // Loaded only when compiling: solc-js takes about a second to start.
  const { default: solc } = await import('solc');
  const input = { language: 'Solidity', sources, settings: COMPILER_SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)) as string) as SolcOutput;
  return { version: solc.version() as string, output };
}

export interface CompileOptions {
  /** Where the .sol files are (default contracts/). */
  contractsDir?: string;
  /** The output and cache file (default build/contracts.json). */
  outFile?: string;
}

export interface CompileResult {
  artifacts: ContractArtifacts;
  /** False when build/ already held the output for these exact sources. */
  compiled: boolean;
}

/**
 * Returns the compiled contracts, compiling only when the sources, compiler or settings changed since
 * the output file was written. Throws ContractCompileError with solc's messages on any error or warning.
 */
export async function compileContracts(options: CompileOptions = {}): Promise<CompileResult> {
  const outFile = options.outFile ?? DEFAULT_ARTIFACTS_FILE;
  const sources = readSources(options.contractsDir ?? CONTRACTS_DIR);
  const sourceHash = hashInputs(sources);
  const previous = cached(outFile, sourceHash);
  if (previous) return { artifacts: previous, compiled: false };

  const { version, output } = await runSolc(sources);
  const problems = (output.errors ?? []).filter((message) => message.severity !== 'info');
  if (problems.length > 0) {
    throw new ContractCompileError(`solc reported ${problems.length} problem(s):\n${problems.map((message) => message.formattedMessage).join('\n')}`);
  }
  const contracts = {} as Record<ContractName, ContractArtifact>;
  for (const name of CONTRACT_NAMES) {
    const compiled = output.contracts?.[`contracts/${name}.sol`]?.[name];
    if (!compiled) throw new ContractCompileError(`contracts/${name}.sol did not produce contract ${name}`);
    contracts[name] = { abi: compiled.abi, bytecode: `0x${compiled.evm.bytecode.object}` };
  }
  const artifacts: ContractArtifacts = { solcVersion: version, settings: COMPILER_SETTINGS, sourceHash, contracts };

  // Written to a temporary name and renamed, so test files compiling in parallel never read half a file.
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const temporary = `${outFile}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(artifacts, null, 2)}\n`);
  fs.renameSync(temporary, outFile);
  return { artifacts, compiled: true };
}
