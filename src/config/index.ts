/**
 * config/ owns the node's settings: their documented defaults, the optional JSON config file, and
 * environment overrides. Every setting `a.bC` can be set by the variable TCF_A_B_C (arrays as
 * comma-separated lists), which is how containers and tests configure a node without a file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HashingAlgorithm } from '../crypto/primitives.js';
import type { IvMode } from '../workorder/items.js';
import type { EvidenceProviderSettings } from '../attestation/provider.js';

export interface NodeConfig {
  /** Stable name of this node; its enclave manager's claims carry it, so a restart takes its own work back. */
  nodeId: string;
  /** Where the node keeps its embedded store, sealed worker keys and hosted workload data. */
  dataDir: string;
  /** "" = LMDB under dataDir/store; or a postgres:// URL. */
  store: string;
  /** 'all' runs listener and enclave manager; 'listener' / 'manager' split them across processes (PostgreSQL). */
  role: 'all' | 'listener' | 'manager';
  listener: {
    host: string;
    port: number;
    /** Largest accepted HTTP body. */
    bodyLimitBytes: number;
    /** Queued plus processing work orders past which WorkOrderSubmit answers BUSY (8). */
    maxPendingWorkOrders: number;
    /** Upper bound on how long a synchronous WorkOrderSubmit holds the connection, whatever responseTimeoutMSecs says. */
    maxSyncWaitMs: number;
    /** Ids per LookUp page. */
    lookUpPageSize: number;
    /** Bearer token for WorkerRegister/Update/SetStatus and EncryptionKeySet; "" disables those methods. */
    operatorToken: string;
    /** PEM certificate (chain) and private key files: the listener serves HTTPS. Both "" = plain HTTP. */
    tlsCertFile: string;
    tlsKeyFile: string;
    /**
     * URI prefixes this node may POST a completion notice to (a work order's notifyUri). Empty: a
     * work order with a notifyUri is refused, since calling requester-chosen URIs from the host is an SSRF risk.
     */
    notifyUriPrefixes: string[];
    /** Work orders per second one requesterId may submit through this listener (0 = no limit); past it, BUSY (8). */
    requesterRatePerSecond: number;
    /** How many work orders a requester may send in a burst before its rate applies. */
    requesterBurst: number;
    /** Most calls in one JSON-RPC batch; a longer batch is refused whole (-32600). */
    maxBatchCalls: number;
    /**
     * Most bytes of results in one HTTP answer. A reply that does not fit gets -32603 "answer too
     * large" instead of its result, and from then on the batch's calls not yet started are not run.
     */
    maxAnswerBytes: number;
    /** A client that takes longer than this to accept the next part of an answer loses its connection. */
    writeTimeoutMs: number;
    /** A request (headers and body) must arrive within this, or the connection is closed with 408. */
    requestTimeoutMs: number;
    /** A request's headers must arrive within this of the connection or the previous request; at most requestTimeoutMs. */
    headersTimeoutMs: number;
    /** An idle keep-alive connection is closed after this. */
    keepAliveTimeoutMs: number;
    /** Open connections past which new ones are closed as soon as they are accepted. */
    maxConnections: number;
  };
  workers: {
    /** One logical worker per name; workerId = hex SHA-256 of the name (as Avalon derives it). */
    names: string[];
    /** OS processes serving each worker (all unseal the same keys). */
    processesPerWorker: number;
    workerType: number;
    organizationId: string;
    applicationTypeIds: string[];
    /**
     * Extra workload modules loaded into every worker process, each exporting `workloads: Workload[]`
     * (src/workloads/workload.ts). Their code becomes part of the worker's measurement.
     */
    workloadModules: string[];
    /** Workers (by name) that accept only signed work orders; advertised in their details. */
    signedOnly: string[];
  };
  enclave: {
    rsaBits: number;
    hashingAlgorithm: HashingAlgorithm;
    /** 'per-item' (secure default) or 'avalon' to serve Avalon clients that reuse sessionKeyIv. */
    ivMode: IvMode;
    requireRequesterSignature: boolean;
    /** 'bound': a signed request's requesterId must be the hash of its key. 'unbound': Avalon's behaviour. */
    requesterKeyBinding: 'bound' | 'unbound';
    /** A work order running longer is stopped, its worker process replaced, and it fails with an error. */
    workOrderTimeoutMs: number;
    /** How long a claim lasts before another manager may take the work order over. */
    claimLeaseMs: number;
    /** A work order whose worker process died this many times fails instead of being retried. */
    maxAttempts: number;
    /** Work orders in flight per worker process: 2 lets a process start the next one while the last outcome is committed. */
    lanesPerProcess: number;
    /** Rotate every worker's encryption key this often (0 = never); the two previous keys still decrypt. */
    encryptionKeyRotationMinutes: number;
    /**
     * Where each worker gets its evidence (attestation/provider.ts): 'simulated' (default, development),
     * 'gramine-sgx' (inside a Gramine SGX enclave) or 'configfs-tsm' (a TDX or SEV-SNP guest).
     */
    attestation: EvidenceProviderSettings;
  };
}

export function defaultConfig(): NodeConfig {
  return {
    nodeId: os.hostname(),
    dataDir: path.resolve('data'),
    store: '',
    role: 'all',
    listener: {
      host: '127.0.0.1',
      port: 1947,
      bodyLimitBytes: 8 * 1024 * 1024,
      maxPendingWorkOrders: 10_000,
      maxSyncWaitMs: 60_000,
      lookUpPageSize: 100,
      operatorToken: '',
      tlsCertFile: '',
      tlsKeyFile: '',
      notifyUriPrefixes: [],
      requesterRatePerSecond: 0,
      requesterBurst: 100,
      maxBatchCalls: 100,
      maxAnswerBytes: 64 * 1024 * 1024,
      writeTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1024,
    },
    workers: {
      names: ['tcf-worker-1'],
      processesPerWorker: 2,
      workerType: 1,
      organizationId: '00000000000000000000000000000000000000000000000000000000000000aa',
      applicationTypeIds: ['00000000000000000000000000000000000000000000000000000000000000bb'],
      workloadModules: [],
      signedOnly: [],
    },
    enclave: {
      rsaBits: 3072,
      hashingAlgorithm: 'SHA-256',
      ivMode: 'per-item',
      requireRequesterSignature: false,
      requesterKeyBinding: 'bound',
      workOrderTimeoutMs: 30_000,
      claimLeaseMs: 60_000,
      maxAttempts: 3,
      lanesPerProcess: 2,
      encryptionKeyRotationMinutes: 0,
      attestation: {
        provider: 'simulated',
        gramineDir: '/dev/attestation',
        tsmDir: '/sys/kernel/config/tsm/report',
        collateralFile: '',
        pccsUrl: '',
        certificatesFile: '',
      },
    },
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Overlays `patch` on `base`, keeping only keys the defaults know and checking each value's type. */
function overlay(base: Record<string, unknown>, patch: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (!Object.hasOwn(base, key)) throw new ConfigError(`${where}${key}: unknown setting`);
    const current = base[key];
    if (Array.isArray(current)) {
      if (!Array.isArray(value)) throw new ConfigError(`${where}${key}: expected a list`);
      base[key] = value.map(String);
    } else if (typeof current === 'object' && current !== null) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${where}${key}: expected an object`);
      overlay(current as Record<string, unknown>, value as Record<string, unknown>, `${where}${key}.`);
    } else if (typeof value !== typeof current) {
      throw new ConfigError(`${where}${key}: expected a ${typeof current}, got ${JSON.stringify(value)}`);
    } else {
      base[key] = value;
    }
  }
}

function envName(pathParts: string[]): string {
  return 'TCF_' + pathParts.map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

function applyEnv(target: Record<string, unknown>, env: NodeJS.ProcessEnv, prefix: string[]): void {
  for (const [key, current] of Object.entries(target)) {
    const parts = [...prefix, key];
    if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
      applyEnv(current as Record<string, unknown>, env, parts);
      continue;
    }
    const name = envName(parts);
    const raw = env[name];
    if (raw === undefined) continue;
    if (Array.isArray(current)) target[key] = raw.split(',').map((item) => item.trim()).filter(Boolean);
    else if (typeof current === 'number') {
      const parsed = Number(raw);
      if (!Number.isFinite(parsed)) throw new ConfigError(`${name}: expected a number, got ${JSON.stringify(raw)}`);
      target[key] = parsed;
    } else if (typeof current === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name}: expected true or false`);
      target[key] = raw === 'true';
    } else target[key] = raw;
  }
}

/** Every environment variable that configures the node, with its setting path: for --help and docs. */
export function environmentVariables(): { variable: string; setting: string }[] {
  const out: { variable: string; setting: string }[] = [];
  const walk = (node: Record<string, unknown>, prefix: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) walk(value as Record<string, unknown>, [...prefix, key]);
      else out.push({ variable: envName([...prefix, key]), setting: [...prefix, key].join('.') });
    }
  };
  walk(defaultConfig() as unknown as Record<string, unknown>, []);
  return out;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function validateConfig(config: NodeConfig): void {
  const checks: [boolean, string][] = [
    [['all', 'listener', 'manager'].includes(config.role), 'role: must be all, listener or manager'],
    [Number.isInteger(config.listener.port) && config.listener.port >= 0 && config.listener.port < 65536, 'listener.port: must be 0–65535'],
    [config.workers.names.length > 0, 'workers.names: at least one worker'],
    [(config.listener.tlsCertFile === '') === (config.listener.tlsKeyFile === ''), 'listener.tlsCertFile and listener.tlsKeyFile: give both or neither'],
    [
      config.listener.operatorToken === '' || config.listener.tlsCertFile !== '' || isLoopback(config.listener.host),
      'listener.operatorToken: the token would cross the network in clear; serve TLS (listener.tlsCertFile/tlsKeyFile) or listen on loopback behind a TLS proxy',
    ],
    ...(['maxBatchCalls', 'maxAnswerBytes', 'writeTimeoutMs', 'requestTimeoutMs', 'headersTimeoutMs', 'keepAliveTimeoutMs', 'maxConnections'] as const).map(
      (key): [boolean, string] => [Number.isSafeInteger(config.listener[key]) && config.listener[key] > 0, `listener.${key}: must be a positive whole number`],
    ),
    [config.listener.headersTimeoutMs <= config.listener.requestTimeoutMs, 'listener.headersTimeoutMs: must not exceed listener.requestTimeoutMs'],
    [config.workers.processesPerWorker >= 1, 'workers.processesPerWorker: at least 1'],
    [config.enclave.lanesPerProcess >= 1, 'enclave.lanesPerProcess: at least 1'],
    [[2048, 3072, 4096].includes(config.enclave.rsaBits), 'enclave.rsaBits: 2048, 3072 or 4096'],
    [['SHA-256', 'SHA3-256'].includes(config.enclave.hashingAlgorithm), 'enclave.hashingAlgorithm: SHA-256 or SHA3-256'],
    [['per-item', 'avalon'].includes(config.enclave.ivMode), 'enclave.ivMode: per-item or avalon'],
    [['bound', 'unbound'].includes(config.enclave.requesterKeyBinding), 'enclave.requesterKeyBinding: bound or unbound'],
    [
      ['simulated', 'gramine-sgx', 'configfs-tsm'].includes(config.enclave.attestation.provider),
      'enclave.attestation.provider: simulated, gramine-sgx or configfs-tsm',
    ],
    [config.enclave.workOrderTimeoutMs > 0, 'enclave.workOrderTimeoutMs: must be positive'],
    [config.enclave.claimLeaseMs > config.enclave.workOrderTimeoutMs, 'enclave.claimLeaseMs: must exceed enclave.workOrderTimeoutMs'],
  ];
  for (const [ok, message] of checks) if (!ok) throw new ConfigError(message);
}

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, Json>;
}

/** Defaults, then the file, then the environment, then explicit overrides (CLI flags, tests). */
export function loadConfig(options: LoadConfigOptions = {}): NodeConfig {
  const config = defaultConfig();
  const root = config as unknown as Record<string, unknown>;
  const file = options.file ?? options.env?.TCF_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`${file}: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`${file}: must hold a JSON object`);
    overlay(root, parsed as Record<string, unknown>, '');
  }
  applyEnv(root, options.env ?? process.env, []);
  if (options.overrides) overlay(root, options.overrides, '');
  config.dataDir = path.resolve(config.dataDir);
  config.workers.workloadModules = config.workers.workloadModules.map((file) => path.resolve(file));
  validateConfig(config);
  return config;
}
