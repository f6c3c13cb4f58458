/**
 * Entry point of a worker process: the simulated enclave. It owns the worker's key pairs (created
 * once, sealed to disk, unsealed on restart), produces its evidence, and turns each encrypted work
 * order into a signed, encrypted result plus a signed receipt update. Started by manager/pool.ts
 * over Node IPC; never reachable from the network.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bytesToBase64, bytesToHex, utf8 } from '../crypto/encoding.js';
import {
  encryptionKeyFromPem,
  encryptionKeyToPem,
  generateEncryptionKey,
  generateSigningKey,
  signingKeyFromPem,
  signingKeyToPem,
  type EncryptionKeyPair,
  type SigningKeyPair,
} from '../crypto/keys.js';
import { ecdsaSignDigest } from '../crypto/primitives.js';
import { ErrorCode, ReceiptStatus, TcfError } from '../protocol/errors.js';
import { encryptionKeyAnnouncementHash, encryptionKeyHash, receiptUpdateHash, workOrderOutcomeDigest } from '../protocol/hashing.js';
import type { ReceiptUpdate, WorkOrderRequest } from '../protocol/messages.js';
import { createEvidenceProvider, type EvidenceProvider } from '../attestation/provider.js';
import { SIMULATED_NOTICE } from '../attestation/simulated.js';
import { defaultWorkloads, DirectoryIo, type Workload, type WorkloadRegistry } from '../workloads/index.js';
import type { WorkOrderOutcome } from '../store/store.js';
import { openWorkOrder, sealWorkOrderResult, type WorkerSecrets } from '../workorder/worker.js';
import { createLogger } from '../log/index.js';
import type { ManagerToWorker, WorkerInit, WorkerPublicIdentity, WorkerToManager } from './ipc.js';
import { createSealed, loadPlatformSecret, measureWorkerCode, readSealed, sealingKey, writeSealed } from './sealing.js';

interface SealedState {
  signingKeyPem: string;
  encryptionKeyPem: string;
  /** Keys replaced by rotation, newest first: requests encrypted to them just before a rotation still open. */
  previousEncryptionKeyPems: string[];
  encryptionKeyNonce?: string;
  encryptionKeyTag?: string;
  encryptionKeySignature: string;
}

interface WorkerState {
  init: WorkerInit;
  measurement: string;
  sealKey: Buffer;
  sealedFile: string;
  signingKey: SigningKeyPair;
  encryptionKeys: EncryptionKeyPair[];
  sealed: SealedState;
}

const log = createLogger(`worker:${process.pid}`);

function send(message: WorkerToManager): void {
  process.send?.(message);
}

/** The worker's keys with fresh evidence binding them (attestation/binding.ts): made again after every key change. */
async function publicIdentity(state: WorkerState, provider: EvidenceProvider): Promise<WorkerPublicIdentity> {
  const verificationKeyPem = state.signingKey.publicKeyPem;
  const encryptionKeyPem = (state.encryptionKeys[0] as EncryptionKeyPair).publicKeyPem;
  const bound = { workerId: state.init.workerId, verificationKeyPem, encryptionKeyPem, issuedAt: new Date().toISOString() };
  const evidence = await provider.evidence(bound, state.measurement);
  const identity: WorkerPublicIdentity = {
    verificationKeyPem,
    encryptionKeyPem,
    encryptionKeySignature: state.sealed.encryptionKeySignature,
    proofDataType: evidence.proofDataType,
    proofData: evidence.proofData,
    measurement: state.measurement,
  };
  if (state.sealed.encryptionKeyNonce !== undefined) identity.encryptionKeyNonce = state.sealed.encryptionKeyNonce;
  if (state.sealed.encryptionKeyTag !== undefined) identity.encryptionKeyTag = state.sealed.encryptionKeyTag;
  return identity;
}

function unsealState(init: WorkerInit, measurement: string, sealKey: Buffer, sealedFile: string): SealedState {
  const plaintext = readSealed(sealedFile, sealKey);
  if (plaintext) return JSON.parse(plaintext.toString('utf8')) as SealedState;
  if (!init.mayProvisionKeys) throw new Error(`no sealed keys at ${sealedFile} and this process may not create them`);
  const signingKey = generateSigningKey();
  const encryptionKey = generateEncryptionKey(init.rsaBits);
  const state: SealedState = {
    signingKeyPem: signingKeyToPem(signingKey),
    encryptionKeyPem: encryptionKeyToPem(encryptionKey),
    previousEncryptionKeyPems: [],
    encryptionKeySignature: bytesToHex(
      ecdsaSignDigest(signingKey.privateKey, encryptionKeyHash(encryptionKey.publicKeyPem, init.hashingAlgorithm)),
    ),
  };
  if (!createSealed(sealedFile, sealKey, utf8(JSON.stringify(state)))) {
    // Another process of this worker (on this platform) sealed first: use its keys, not ours.
    return unsealState({ ...init, mayProvisionKeys: false }, measurement, sealKey, sealedFile);
  }
  log.info('created and sealed new worker keys', { workerId: init.workerId, measurement });
  return state;
}

function loadState(init: WorkerInit, workloadFiles: readonly string[]): WorkerState {
  const measurement = measureWorkerCode(workloadFiles);
  const sealKey = sealingKey(loadPlatformSecret(init.dataDir), measurement);
  const sealedFile = path.join(init.dataDir, 'workers', init.workerId, 'sealed-keys');
  const sealed = unsealState(init, measurement, sealKey, sealedFile);
  return {
    init,
    measurement,
    sealKey,
    sealedFile,
    sealed,
    signingKey: signingKeyFromPem(sealed.signingKeyPem),
    encryptionKeys: [sealed.encryptionKeyPem, ...sealed.previousEncryptionKeyPems].map(encryptionKeyFromPem),
  };
}

function secretsWith(state: WorkerState, encryptionKey: EncryptionKeyPair): WorkerSecrets {
  return { workerId: state.init.workerId, signingKey: state.signingKey, encryptionKey, hashingAlgorithm: state.init.hashingAlgorithm };
}

/** Opens with the current key, falling back to keys replaced by rotation. */
function openWithAnyKey(state: WorkerState, request: WorkOrderRequest) {
  let lastError: unknown;
  for (const key of state.encryptionKeys) {
    try {
      return { opened: openWorkOrder(request, secretsWith(state, key), state.init.policy), secrets: secretsWith(state, key) };
    } catch (error) {
      const wrongKey = error instanceof TcfError && error.message.startsWith('params.encryptedSessionKey');
      if (!wrongKey) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

async function processWorkOrder(state: WorkerState, requestId: number, workOrderId: string, request: WorkOrderRequest, workloads: WorkloadRegistry): Promise<WorkerToManager> {
  let outcome: WorkOrderOutcome;
  /** What the receipt update commits to: workOrderOutcomeDigest, here without hashing the result a second time. */
  let outcomeDigest: Buffer;
  try {
    const workload = workloads.resolve(request.workloadId);
    const { opened, secrets } = openWithAnyKey(state, request);
    const outputs = await workload.process(opened.inputs, { io: workloads.io });
    const sealed = sealWorkOrderResult(opened, outputs, secrets);
    outcome = { result: sealed.result };
    outcomeDigest = sealed.responseHash;
  } catch (error) {
    const failure = error instanceof TcfError
      ? error
      : new TcfError(ErrorCode.WORK_ORDER_UNKNOWN_ERROR, `workload failed: ${(error as Error).message ?? String(error)}`);
    const failed = { error: { code: failure.code, message: failure.message, data: { workOrderId: request.workOrderId } } };
    outcome = failed;
    outcomeDigest = workOrderOutcomeDigest(failed, state.init.hashingAlgorithm);
  }
  return { type: 'processed', requestId, workOrderId, outcome, completionUpdate: completionUpdate(state, request, 'result' in outcome, outcomeDigest) };
}

/** The example workloads plus the operator's workload modules, all sharing the hosted-data plug-in. */
async function loadWorkloads(init: WorkerInit): Promise<WorkloadRegistry> {
  const registry = defaultWorkloads(new DirectoryIo(init.workloadDataDir));
  for (const file of init.workloadModules) {
    const module = (await import(pathToFileURL(file).href)) as { workloads?: Workload[] };
    if (!Array.isArray(module.workloads)) throw new Error(`workload module ${file} exports no \`workloads\` array`);
    for (const workload of module.workloads) registry.register(workload);
  }
  return registry;
}

/** The worker's receipt update for an outcome: PROCESSED for a result, FAILED for an error, signed by the attested key. */
function completionUpdate(state: WorkerState, request: WorkOrderRequest, succeeded: boolean, outcomeDigest: Buffer): ReceiptUpdate {
  const updateType = succeeded ? ReceiptStatus.PROCESSED : ReceiptStatus.FAILED;
  const updateData = outcomeDigest.toString('hex');
  const digest = receiptUpdateHash({ workOrderId: request.workOrderId, updateType, updateData }, state.init.hashingAlgorithm);
  return {
    workOrderId: request.workOrderId,
    updaterId: state.init.workerId,
    updateType,
    updateData,
    updateSignature: bytesToBase64(ecdsaSignDigest(state.signingKey.privateKey, digest)),
    signatureRules: `${state.init.hashingAlgorithm}/SECP256K1`,
    receiptVerificationKey: state.signingKey.publicKeyPem,
  };
}

async function rotateKey(state: WorkerState, provider: EvidenceProvider, requestId: number, encryptionKeyNonce: string, tag: string): Promise<WorkerToManager> {
  const fresh = generateEncryptionKey(state.init.rsaBits);
  const announcement = { workerId: state.init.workerId, encryptionKey: fresh.publicKeyPem, encryptionKeyNonce, tag };
  const signature = bytesToHex(ecdsaSignDigest(state.signingKey.privateKey, encryptionKeyAnnouncementHash(announcement, state.init.hashingAlgorithm)));
  state.sealed = {
    ...state.sealed,
    encryptionKeyPem: encryptionKeyToPem(fresh),
    previousEncryptionKeyPems: [state.sealed.encryptionKeyPem, ...state.sealed.previousEncryptionKeyPems].slice(0, 2),
    encryptionKeyNonce,
    encryptionKeyTag: tag,
    encryptionKeySignature: signature,
  };
  writeSealed(state.sealedFile, state.sealKey, utf8(JSON.stringify(state.sealed)));
  state.encryptionKeys = [fresh, ...state.encryptionKeys].slice(0, 3);
  log.info('rotated encryption key', { workerId: state.init.workerId, encryptionKeyNonce });
  const identity = await publicIdentity(state, provider);
  return { type: 'rotated', requestId, identity, announcementSignature: Buffer.from(signature, 'hex').toString('base64') };
}

let state: WorkerState | undefined;
let workloads: WorkloadRegistry | undefined;
let provider: EvidenceProvider | undefined;

/** Settles when init has; later messages wait for it, so none can overtake the worker's set-up. */
let initialised: Promise<void> | undefined;

process.on('message', (message: ManagerToWorker) => {
  const handled = message.type === 'init' ? (initialised = handle(message)) : (initialised ?? Promise.resolve()).then(() => handle(message));
  void handled.catch((error: unknown) => {
    send({ type: 'fatal', message: (error as Error).message ?? String(error) });
    process.exitCode = 1;
    process.disconnect?.();
  });
});

async function handle(message: ManagerToWorker): Promise<void> {
  if (message.type === 'init') {
    provider = createEvidenceProvider(message.attestation);
    workloads = await loadWorkloads(message);
    state = loadState(message, workloads.measurementInputs());
    const identity = await publicIdentity(state, provider);
    // Logged after the first evidence: only then does a configfs-tsm provider know which TEE it talks to.
    if (message.attestation.provider === 'simulated') log.warn(SIMULATED_NOTICE, { workerId: message.workerId, measurement: state.measurement });
    else log.info('evidence comes from the TEE', { workerId: message.workerId, provider: provider.description });
    send({ type: 'ready', requestId: message.requestId, identity });
    return;
  }
  if (!state || !workloads || !provider) throw new Error(`"${message.type}" before init`);
  if (message.type === 'process') send(await processWorkOrder(state, message.requestId, message.workOrderId, message.request, workloads));
  else if (message.type === 'rotate-key') send(await rotateKey(state, provider, message.requestId, message.encryptionKeyNonce, message.tag));
  else if (message.type === 'reload-keys') {
    state = loadState(state.init, workloads.measurementInputs());
    send({ type: 'ready', requestId: message.requestId, identity: await publicIdentity(state, provider) });
  }
}

// The provider removes the configfs-tsm entries it made; a request stuck in the TEE interface does not keep
// an orphaned worker alive past two seconds.
process.on('disconnect', () => {
  const giveUp = new Promise((resolve) => setTimeout(resolve, 2000).unref());
  void Promise.race([provider?.close(), giveUp]).finally(() => process.exit(process.exitCode ?? 0));
});
