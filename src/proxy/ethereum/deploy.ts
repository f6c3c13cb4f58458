/**
 * Deploying TCF's four contracts and recording where they are. The work order registry is bound to the
 * worker registry, and the receipt registry to the work order registry (through which it also finds the
 * worker registry), at construction. The deployment file (JSON: chain id, deployment block, addresses)
 * is how every other process finds them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ContractFactory, isAddress, type Signer } from 'ethers';
import type { ContractArtifacts, ContractName } from './artifacts.js';

/** Ids per lookup page in the registries: small enough that a page's eth_call stays far below any node's gas cap. */
export const DEFAULT_LOOKUP_PAGE_SIZE = 50;

export interface ContractAddresses {
  workerRegistryList: string;
  workerRegistry: string;
  workOrderRegistry: string;
  workOrderReceiptRegistry: string;
}

export interface Deployment {
  chainId: number;
  /** The block of the first deployment transaction: where a connector starts reading events. */
  deployedAtBlock: number;
  addresses: ContractAddresses;
}

export interface DeployOptions {
  lookUpPageSize?: number;
}

async function deployOne(
  deployer: Signer,
  artifacts: ContractArtifacts,
  name: ContractName,
  args: unknown[],
  nonce: number,
): Promise<{ address: string; blockNumber: number }> {
  const { abi, bytecode } = artifacts.contracts[name];
  const contract = await new ContractFactory(abi, bytecode, deployer).deploy(...args, { nonce });
  const receipt = await contract.deploymentTransaction()?.wait();
  if (!receipt) throw new Error(`deploying ${name}: no transaction receipt`);
  return { address: await contract.getAddress(), blockNumber: receipt.blockNumber };
}

/** Deploys the four contracts from `deployer`, which becomes the owner of the worker registry list. */
export async function deployContracts(deployer: Signer, artifacts: ContractArtifacts, options: DeployOptions = {}): Promise<Deployment> {
  if (!deployer.provider) throw new Error('the deployer must be connected to a provider');
  const pageSize = options.lookUpPageSize ?? DEFAULT_LOOKUP_PAGE_SIZE;
  const { chainId } = await deployer.provider.getNetwork();
  // Nonces are counted here rather than asked of the node before each deployment: a provider may answer
  // that question from a cache made before the previous deployment was mined.
  const nonce = await deployer.getNonce('pending');
  const list = await deployOne(deployer, artifacts, 'WorkerRegistryList', [pageSize], nonce);
  const workers = await deployOne(deployer, artifacts, 'WorkerRegistry', [pageSize], nonce + 1);
  const workOrders = await deployOne(deployer, artifacts, 'WorkOrderRegistry', [workers.address], nonce + 2);
  const receipts = await deployOne(deployer, artifacts, 'WorkOrderReceiptRegistry', [workOrders.address, pageSize], nonce + 3);
  return {
    chainId: Number(chainId),
    deployedAtBlock: list.blockNumber,
    addresses: {
      workerRegistryList: list.address,
      workerRegistry: workers.address,
      workOrderRegistry: workOrders.address,
      workOrderReceiptRegistry: receipts.address,
    },
  };
}

export function writeDeploymentFile(file: string, deployment: Deployment): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
}

/** Reads and checks a deployment file; names the file and the field that is wrong. */
export function readDeploymentFile(file: string): Deployment {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the contract deployment file ${file}: ${(error as Error).message}`);
  }
  const problem = (field: string, expected: string) => new Error(`${file}: ${field} must be ${expected}`);
  if (typeof parsed !== 'object' || parsed === null) throw problem('the file', 'a JSON object');
  const { chainId, deployedAtBlock, addresses } = parsed as Partial<Record<keyof Deployment, unknown>>;
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId <= 0) throw problem('chainId', 'a positive integer');
  if (typeof deployedAtBlock !== 'number' || !Number.isSafeInteger(deployedAtBlock) || deployedAtBlock < 0) throw problem('deployedAtBlock', 'a block number');
  if (typeof addresses !== 'object' || addresses === null) throw problem('addresses', 'an object');
  const checked = {} as ContractAddresses;
  for (const key of ['workerRegistryList', 'workerRegistry', 'workOrderRegistry', 'workOrderReceiptRegistry'] as const) {
    const address = (addresses as Partial<Record<string, unknown>>)[key];
    if (typeof address !== 'string' || !isAddress(address)) throw problem(`addresses.${key}`, 'an Ethereum address');
    checked[key] = address;
  }
  return { chainId, deployedAtBlock, addresses: checked };
}
