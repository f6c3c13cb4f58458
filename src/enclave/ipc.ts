/**
 * The messages between the enclave manager (host) and a worker process (the simulated enclave):
 * the whole ECALL surface. Keys never cross it; only public keys, evidence, signed results and
 * signed key announcements do.
 */
import type { HashingAlgorithm } from '../crypto/primitives.js';
import type { ReceiptUpdate, WorkOrderRequest } from '../protocol/messages.js';
import type { WorkOrderOutcome } from '../store/store.js';
import type { WorkerPolicy } from '../workorder/worker.js';
import type { EvidenceProviderSettings } from '../attestation/provider.js';

export interface WorkerInit {
  type: 'init';
  workerId: string;
  workerName: string;
  dataDir: string;
  /** Directory the inside-out I/O plug-in serves to workloads. */
  workloadDataDir: string;
  hashingAlgorithm: HashingAlgorithm;
  rsaBits: number;
  policy: WorkerPolicy;
  /** Only the first process of a worker may create keys; the others must unseal them. */
  mayProvisionKeys: boolean;
  /** Absolute paths of extra workload modules to load and measure. */
  workloadModules: string[];
  /** Where the process gets its evidence (simulated, Gramine SGX, configfs-tsm). */
  attestation: EvidenceProviderSettings;
}

/**
 * Every message carries a requestId that its reply repeats, so several requests may be in flight:
 * the manager keeps a process busy with the next work order while the last one's outcome is stored.
 * The process handles them in arrival order; a key rotation takes effect for every later message.
 */
export type ManagerToWorker = { requestId: number } & (
  | WorkerInit
  | { type: 'process'; workOrderId: string; request: WorkOrderRequest }
  | { type: 'rotate-key'; encryptionKeyNonce: string; tag: string }
  | { type: 'reload-keys' }
);

export interface WorkerPublicIdentity {
  verificationKeyPem: string;
  encryptionKeyPem: string;
  /** Hex DER signature of the encryption key (see attestation/worker-trust.ts for what it covers). */
  encryptionKeySignature: string;
  encryptionKeyNonce?: string;
  encryptionKeyTag?: string;
  proofDataType: string;
  proofData: string;
  measurement: string;
}

export type WorkerToManager =
  | { type: 'ready'; requestId: number; identity: WorkerPublicIdentity }
  | { type: 'processed'; requestId: number; workOrderId: string; outcome: WorkOrderOutcome; completionUpdate: ReceiptUpdate }
  | { type: 'rotated'; requestId: number; identity: WorkerPublicIdentity; announcementSignature: string }
  | { type: 'fatal'; message: string };
