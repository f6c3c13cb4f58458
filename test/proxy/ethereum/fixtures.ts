/**
 * Shared set-up for the Ethereum tests and the gas report: a real anvil node with the compiled
 * contracts deployed, one EthereumLedger per development account, and the real TCF messages of one
 * work order's life (a worker with real keys and simulated-TEE evidence, an encrypted signed request,
 * the worker's signed result, signed receipt create and update), so what goes on chain has the sizes
 * it has in use.
 */
import assert from 'node:assert/strict';
import { Contract, isError, type LogDescription } from 'ethers';
import { compileContracts } from '../../../src/proxy/ethereum/index.js';
import { createSimulatedEvidence } from '../../../src/attestation/index.js';
import {
  bytesToBase64,
  bytesToHex,
  ecdsaSignDigest,
  generateEncryptionKey,
  generateSigningKey,
  randomBytes,
  requesterIdForKey,
  sha256,
  textToHex,
  utf8,
  type SigningKeyPair,
} from '../../../src/crypto/index.js';
import {
  ReceiptStatus,
  WorkerType,
  encryptionKeyHash,
  receiptCreateHash,
  receiptUpdateHash,
  workOrderOutcomeDigest,
  type MethodParams,
  type ReceiptCreate,
  type ReceiptUpdate,
  type WorkerDetails,
  type WorkOrderResult,
} from '../../../src/protocol/index.js';
import {
  deployContracts,
  EthereumLedger,
  LedgerError,
  startAnvil,
  type AnvilNode,
  type ContractArtifacts,
  type ContractName,
  type Deployment,
} from '../../../src/proxy/ethereum/index.js';
import { buildWorkOrder, openWorkOrder, sealWorkOrderResult, type BuiltWorkOrder, type WorkerSecrets } from '../../../src/workorder/index.js';

/** Development accounts by role. */
export const Account = { OWNER: 0, WORKER: 1, REQUESTER: 2, STRANGER: 3 } as const;

export const ORGANIZATION_ID = '00000000000000000000000000000000000000000000000000000000000000aa';
export const APPLICATION_TYPE_ID = '00000000000000000000000000000000000000000000000000000000000000bb';

export interface TestChain {
  anvil: AnvilNode;
  artifacts: ContractArtifacts;
  deployment: Deployment;
  /** An EthereumLedger sending from development account `account`. */
  ledger(account: number): EthereumLedger;
  /** A raw ethers Contract sending from development account `account`. */
  contract(name: ContractName, account: number): Contract;
  stop(): Promise<void>;
}

const ADDRESS_KEYS: Record<ContractName, keyof Deployment['addresses']> = {
  WorkerRegistryList: 'workerRegistryList',
  WorkerRegistry: 'workerRegistry',
  WorkOrderRegistry: 'workOrderRegistry',
  WorkOrderReceiptRegistry: 'workOrderReceiptRegistry',
};

/** Starts anvil, compiles (cached) and deploys. A small page size lets the tests page with few records. */
export async function startTestChain(options: { lookUpPageSize?: number } = {}): Promise<TestChain> {
  const { artifacts } = await compileContracts();
  const anvil = await startAnvil();
  try {
    const deployment = await deployContracts(anvil.wallet(Account.OWNER), artifacts, { lookUpPageSize: options.lookUpPageSize ?? 2 });
    const ledgers = new Map<number, EthereumLedger>();
    return {
      anvil,
      artifacts,
      deployment,
      ledger(account) {
        let ledger = ledgers.get(account);
        if (!ledger) {
          ledger = new EthereumLedger({ deployment, artifacts, runner: anvil.wallet(account) });
          ledgers.set(account, ledger);
        }
        return ledger;
      },
      contract(name, account) {
        return new Contract(deployment.addresses[ADDRESS_KEYS[name]], artifacts.contracts[name].abi, anvil.wallet(account));
      },
      stop: () => anvil.stop(),
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

export const randomId = (): string => bytesToHex(randomBytes(32));

/** Polls `probe` until it returns something other than undefined; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Asserts that `action` was reverted by a contract with exactly `reason`, through the ledger or a raw ethers call. */
export async function assertReverts(action: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    const actual = error instanceof LedgerError ? error.reason : isError(error, 'CALL_EXCEPTION') ? error.reason : undefined;
    if (actual === undefined) throw error;
    assert.equal(actual, reason);
    return true;
  });
}

/** The events `contract` emitted in transaction `transactionHash`. */
export async function eventsOf(contract: Contract, transactionHash: string): Promise<LogDescription[]> {
  const receipt = await contract.runner!.provider!.getTransactionReceipt(transactionHash);
  assert.ok(receipt, `no receipt for ${transactionHash}`);
  const address = (await contract.getAddress()).toLowerCase();
  return receipt.logs
    .filter((log) => log.address.toLowerCase() === address)
    .map((log) => contract.interface.parseLog(log))
    .filter((parsed): parsed is LogDescription => parsed !== null);
}

export interface TestWorker {
  secrets: WorkerSecrets;
  details: WorkerDetails;
  register: MethodParams<'WorkerRegister'>;
}

/** A worker as the manager registers one: real keys, key signature and simulated-TEE evidence. */
export function makeWorker(options: { rsaBits?: number; workerId?: string; applicationTypeIds?: string[]; workerType?: number; organizationId?: string } = {}): TestWorker {
  const signingKey = generateSigningKey();
  const encryptionKey = generateEncryptionKey(options.rsaBits ?? 2048);
  const workerId = options.workerId ?? randomId();
  const details: WorkerDetails = {
    workOrderSyncUri: 'http://127.0.0.1:1947',
    workOrderAsyncUri: 'http://127.0.0.1:1947',
    receiptInvocationUri: 'http://127.0.0.1:1947',
    hashingAlgorithm: 'SHA-256',
    signingAlgorithm: 'SECP256K1',
    keyEncryptionAlgorithm: `RSA-OAEP-${encryptionKey.bits}`,
    dataEncryptionAlgorithm: 'AES-GCM-256',
    workOrderPayloadFormats: 'JSON-RPC',
    workerTypeData: {
      verificationKey: signingKey.publicKeyPem,
      encryptionKey: encryptionKey.publicKeyPem,
      encryptionKeySignature: bytesToHex(ecdsaSignDigest(signingKey.privateKey, encryptionKeyHash(encryptionKey.publicKeyPem))),
      proofDataType: 'TCF-SIMULATED-TEE',
      proofData: JSON.stringify(
        createSimulatedEvidence(sha256(utf8('tcf test worker')).toString('hex'), {
          workerId,
          verificationKeyPem: signingKey.publicKeyPem,
          encryptionKeyPem: encryptionKey.publicKeyPem,
          issuedAt: new Date().toISOString(),
        }),
      ),
      extendedMeasurements: [sha256(utf8('tcf test worker')).toString('hex')],
    },
  };
  return {
    secrets: { workerId, signingKey, encryptionKey, hashingAlgorithm: 'SHA-256' },
    details,
    register: {
      workerId,
      workerType: options.workerType ?? WorkerType.TEE_SGX,
      organizationId: options.organizationId ?? ORGANIZATION_ID,
      applicationTypeId: options.applicationTypeIds ?? [APPLICATION_TYPE_ID],
      details,
    },
  };
}

export function makeRequester(): { signer: SigningKeyPair; requesterId: string } {
  const signer = generateSigningKey();
  return { signer, requesterId: requesterIdForKey(signer.publicKey) };
}

/** An echo work order with `inputBytes` of input, encrypted for `worker` and signed by `requester`. */
export function makeWorkOrder(worker: TestWorker, requester: { signer: SigningKeyPair }, inputBytes = 1024): BuiltWorkOrder {
  return buildWorkOrder({
    worker: {
      workerId: worker.secrets.workerId,
      encryptionKeyPem: worker.details.workerTypeData.encryptionKey,
      verificationKeyPem: worker.details.workerTypeData.verificationKey,
    },
    workloadId: textToHex('echo-result'),
    inData: [{ data: randomBytes(inputBytes) }],
    signer: requester.signer,
  });
}

/** What the worker answers: its signed result, with the input echoed back. */
export function workOrderResult(worker: TestWorker, built: BuiltWorkOrder): WorkOrderResult {
  const opened = openWorkOrder(built.params, worker.secrets);
  return sealWorkOrderResult(opened, opened.inputs, worker.secrets).result;
}

/** The requester's signed receipt for `built`. */
export function makeReceipt(built: BuiltWorkOrder, requester: { signer: SigningKeyPair }, status: number = ReceiptStatus.PENDING): ReceiptCreate {
  const fields = {
    workOrderId: built.params.workOrderId,
    workerServiceId: built.params.workerId,
    workerId: built.params.workerId,
    requesterId: built.params.requesterId,
    receiptCreateStatus: status,
    workOrderRequestHash: bytesToBase64(built.secrets.requestHash),
    requesterGeneratedNonce: bytesToHex(randomBytes(16)),
  };
  return {
    ...fields,
    requesterSignature: bytesToBase64(ecdsaSignDigest(requester.signer.privateKey, receiptCreateHash(fields))),
    signatureRules: 'SHA-256/SECP256K1',
    receiptVerificationKey: requester.signer.publicKeyPem,
  };
}

/** A signed receipt update by `updaterId` (the requester's or the worker's id) with that party's key. */
export function makeReceiptUpdate(
  workOrderId: string,
  updaterId: string,
  signer: SigningKeyPair,
  updateType: number,
  result?: WorkOrderResult,
): ReceiptUpdate {
  const updateData = result ? workOrderOutcomeDigest({ result }).toString('hex').toUpperCase() : `status ${updateType}`;
  return {
    workOrderId,
    updaterId,
    updateType,
    updateData,
    updateSignature: bytesToBase64(ecdsaSignDigest(signer.privateKey, receiptUpdateHash({ workOrderId, updateType, updateData }))),
    signatureRules: 'SHA-256/SECP256K1',
    receiptVerificationKey: signer.publicKeyPem,
  };
}
