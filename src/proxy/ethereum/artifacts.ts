/**
 * The compiled contracts as compile.ts writes them (build/contracts.json): ABI and
 * creation bytecode of each deployable contract, with the compiler version and the hash of the sources
 * they came from. Deployment and the ledger client take their ABIs from here, so the Solidity sources
 * stay the one definition of the on-chain interface.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InterfaceAbi } from 'ethers';

/** The contracts TCF deploys; each is `contracts/<name>.sol`. */
export const CONTRACT_NAMES = ['WorkerRegistryList', 'WorkerRegistry', 'WorkOrderRegistry', 'WorkOrderReceiptRegistry'] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export interface ContractArtifact {
  abi: InterfaceAbi;
  /** 0x-prefixed creation bytecode. */
  bytecode: string;
}

export interface ContractArtifacts {
  /** solc's full version string, e.g. 0.8.37+commit.… */
  solcVersion: string;
  /** The standard-JSON settings the contracts were compiled with. */
  settings: unknown;
  /** SHA-256 over compiler version, settings and every source: the build cache key. */
  sourceHash: string;
  contracts: Record<ContractName, ContractArtifact>;
}

/** build/contracts.json at the repository root. */
export const DEFAULT_ARTIFACTS_FILE = fileURLToPath(new URL('../../../build/contracts.json', import.meta.url));

export function readContractArtifacts(file: string = DEFAULT_ARTIFACTS_FILE): ContractArtifacts {
  let parsed: Partial<ContractArtifacts>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ContractArtifacts>;
  } catch (error) {
    throw new Error(`cannot read the compiled contracts from ${file} (run npm run build:contracts): ${(error as Error).message}`);
  }
  for (const name of CONTRACT_NAMES) {
    const artifact = parsed.contracts?.[name];
    if (!artifact || !Array.isArray(artifact.abi) || typeof artifact.bytecode !== 'string' || !artifact.bytecode.startsWith('0x')) {
      throw new Error(`${file} has no ABI and bytecode for ${name}; rebuild with npm run build:contracts`);
    }
  }
  return parsed as ContractArtifacts;
}
