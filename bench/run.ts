/**
 * `npm run bench`: how close the direct model comes to the machine's crypto limit, in one run.
 * 1. the crypto-only bound on all cores (bench/crypto-bound.ts), and the same crypto timed one work
 *    order at a time on one core: the latency floor;
 * 2. end to end: a real node (`tcf node start`, LMDB) and a separate load-generating process with N
 *    concurrent requesters, for 1 KiB and 100 KiB echo-result inputs, with 1 and then 2 worker processes,
 *    and once more on PostgreSQL when a server is reachable;
 * 3. single-work-order latency (one requester), and the same throughput and latency runs against the
 *    reference server (bench/reference-node.ts: HTTP and the worker's crypto, nothing TCF adds), which
 *    separates what these cores allow from what TCF's durable store, checks and receipts cost;
 * 4. every end-to-end figure as a ratio of the bound, the node's peak RSS, and where the CPU went: CPU
 *    time per work order of the node's main process, its worker processes and the load generator.
 *    A shared VM's speed drifts during a run (the bound moved ±6 % between 1.5 s samples on one, and
 *    by 15 % over hours on another), so each row's ratio is to the bound measured just before and just
 *    after it, and the run prints how far the bound moved.
 * `--quick` runs short (under a minute) for CI smoke runs; `--write` puts the table into BENCHMARKS.md.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { CryptoBound, measureCryptoLatency } from './crypto-bound.js';
import type { LoadFigures, LoadOptions } from './loadgen.js';
import type { WorkerPublicKeys } from '../src/workorder/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const write = process.argv.includes('--write');
const RSA_BITS = 3072;
const CONCURRENCY = 8;

interface NodeUnderTest {
  url: string;
  workerId: string;
  pids: number[];
  mainPid: number;
  onPostgres: boolean;
  /** Given to the load generator when the server has no registry (the reference server). */
  worker?: WorkerPublicKeys;
  stop(): Promise<void>;
}

async function startNode(processes: number, store = ''): Promise<NodeUnderTest> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-bench-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/tcf.js'), 'node', 'start', '--port', '0', '--json', '--data-dir', dataDir, '--processes', String(processes), ...(store ? ['--store', store] : [])], {
    env: { ...process.env, TCF_LOG_LEVEL: 'warn', TCF_ENCLAVE_RSA_BITS: String(RSA_BITS), TCF_LISTENER_MAX_PENDING_WORK_ORDERS: '100000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  const ready = await new Promise<{ url: string; workers: { workerId: string }[]; pids: number[] }>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n}\n');
      if (end >= 0) resolve(JSON.parse(stdout.slice(0, end + 2)));
    });
    child.once('exit', (code) => reject(new Error(`node exited with ${code}`)));
  });
  return {
    url: ready.url,
    workerId: ready.workers[0]!.workerId,
    pids: ready.pids,
    mainPid: child.pid!,
    onPostgres: store !== '',
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The reference server (bench/reference-node.ts): HTTP and the worker's crypto in worker processes, nothing else. */
async function startReference(processes: number): Promise<NodeUnderTest> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/reference-node.ts'), String(processes)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<{ url: string; worker: WorkerPublicKeys; pids: number[] }>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))));
    });
    child.once('exit', (code) => reject(new Error(`reference server exited with ${code}`)));
  });
  const [mainPid, ...workerPids] = ready.pids;
  return {
    url: ready.url,
    workerId: ready.worker.workerId,
    worker: ready.worker,
    pids: workerPids,
    mainPid: mainPid!,
    onPostgres: false,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The node's latency histograms (GET /metrics) that split a work order's time into its parts. */
const LATENCY_PARTS = ['tcf_submission_commit_seconds', 'tcf_worker_round_trip_seconds', 'tcf_outcome_commit_seconds'] as const;
type LatencyPart = (typeof LATENCY_PARTS)[number];
type LatencyTotals = Record<LatencyPart, { sumMs: number; count: number }>;

async function latencyTotals(node: NodeUnderTest): Promise<LatencyTotals> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const sample = (series: string) => Number(new RegExp(`^${series} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return Object.fromEntries(LATENCY_PARTS.map((name) => [name, { sumMs: sample(`${name}_sum`) * 1000, count: sample(`${name}_count`) }])) as LatencyTotals;
}

/** Mean milliseconds per observation of each part between two readings. */
function meanParts(before: LatencyTotals, after: LatencyTotals): Record<LatencyPart, number> {
  return Object.fromEntries(LATENCY_PARTS.map((name) => [name, (after[name].sumMs - before[name].sumMs) / (after[name].count - before[name].count)])) as Record<LatencyPart, number>;
}

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}
/** USER_HZ, which Linux fixes at 100 for what /proc reports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Peak resident set (VmHWM) of a process, in MiB. */
function peakRssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : 0;
}

interface CpuPerWorkOrder {
  node: number;
  workers: number;
  loadGenerator: number;
  /** The PostgreSQL server's processes, for a node on PostgreSQL (it shares the same cores). */
  database?: number;
}

/** Pids of the local PostgreSQL server's processes (its backends included). */
function postgresPids(): number[] {
  return fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
    } catch {
      return false;
    }
  });
}

/** CPU time per pid, skipping processes that are gone. */
function cpuByPid(pids: number[]): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    try {
      times.set(pid, cpuMs(pid));
    } catch {
      // exited between listing and reading
    }
  }
  return times;
}

/**
 * Work orders per second these cores could sustain doing nothing but the CPU work measured per work
 * order, and no faster than the worker processes can, each being one thread on one core.
 */
function cpuCeiling(cpu: CpuPerWorkOrder, cores: number, workerProcesses: number): number {
  const allCores = (cores * 1000) / (cpu.node + cpu.workers + cpu.loadGenerator + (cpu.database ?? 0));
  return Math.min(allCores, (Math.min(workerProcesses, cores) * 1000) / cpu.workers);
}

/**
 * One load run, with the CPU each side spent per work order. The node's figures span the whole
 * load-generator process (its set-up and result checks included, when the node is mostly idle).
 */
async function load(node: NodeUnderTest, options: Omit<LoadOptions, 'url' | 'workerId'>): Promise<LoadFigures & { cpu: CpuPerWorkOrder }> {
  const before = { node: cpuMs(node.mainPid), workers: node.pids.reduce((sum, pid) => sum + cpuMs(pid), 0) };
  const databaseBefore = node.onPostgres ? cpuByPid(postgresPids()) : undefined;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/loadgen.ts'), JSON.stringify({ ...options, url: node.url, workerId: node.workerId, worker: node.worker })], { cwd: ROOT, maxBuffer: 1 << 20 });
  const figures = JSON.parse(stdout) as LoadFigures;
  const cpu: CpuPerWorkOrder = {
    node: (cpuMs(node.mainPid) - before.node) / options.count,
    workers: (node.pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - before.workers) / options.count,
    loadGenerator: figures.cpuMs / options.count,
  };
  if (databaseBefore) {
    const spent = [...cpuByPid(postgresPids())].reduce((sum, [pid, ms]) => sum + ms - (databaseBefore.get(pid) ?? 0), 0);
    cpu.database = spent / options.count;
  }
  return { ...figures, cpu };
}

/**
 * A first untimed load: the first work orders pay for JIT compilation and one-time tables (the
 * signing key's precomputation), which would otherwise weigh on the short --quick runs.
 */
async function warmUp(node: NodeUnderTest): Promise<void> {
  await load(node, { concurrency: CONCURRENCY, count: 100, inputBytes: 1024, signed: false });
}

interface Row {
  label: string;
  /** 'none' for the reference server. */
  store: 'LMDB' | 'PostgreSQL' | 'none';
  processes: number;
  inputBytes: number;
  concurrency: number;
  figures: LoadFigures & { cpu: CpuPerWorkOrder };
  bound: number;
  rssMiB: number;
}

/** "1 KiB: 331–372/s, 100 KiB: …": how far the bound moved during the run. */
function boundSamples(drift: Map<number, number[]>, sizes: readonly number[]): string {
  return sizes.map((size) => {
    const samples = drift.get(size)!;
    return `${size / 1024} KiB: ${Math.min(...samples).toFixed(0)}–${Math.max(...samples).toFixed(0)}/s over ${samples.length} samples`;
  }).join(', ');
}

/** "Single requester, mean 4.6 ms: …": the latency split by the node's own histograms. */
function singleRequesterParts(meanMs: number, parts: ReturnType<typeof meanParts>): string {
  const worker = parts.tcf_worker_round_trip_seconds;
  const outcome = parts.tcf_outcome_commit_seconds;
  const submission = parts.tcf_submission_commit_seconds;
  return `Single requester, where the time goes (means, from the node's GET /metrics): ${meanMs.toFixed(2)} ms end to end = worker round trip ${worker.toFixed(2)} + outcome commit ${outcome.toFixed(2)} + the rest ${(meanMs - worker - outcome).toFixed(2)} (HTTP both ways, JSON, checks, dispatch); the submission commit (${submission.toFixed(2)}) runs while the worker computes.`;
}

async function postgresReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

async function main(): Promise<void> {
  const cores = os.availableParallelism();
  const boundMs = quick ? 1500 : 5000;
  const sizes = [1024, 100 * 1024];
  const boundCase = (inputBytes: number) => ({ inputBytes, signed: false, rsaBits: RSA_BITS });
  const cryptoBound = await CryptoBound.start(sizes.map(boundCase));
  const bounds = new Map<number, number>();
  for (const inputBytes of sizes) {
    bounds.set(inputBytes, await cryptoBound.measure(boundCase(inputBytes), boundMs));
    process.stderr.write(`crypto-only bound, ${inputBytes} B input: ${bounds.get(inputBytes)!.toFixed(0)} work orders/s on ${cores} cores\n`);
  }
  const floor = await measureCryptoLatency(boundCase(1024), quick ? 100 : 1000);
  process.stderr.write(`latency floor (one work order's crypto alone, one core): p50 ${floor.p50Ms.toFixed(2)} ms, p99 ${floor.p99Ms.toFixed(2)} ms\n`);
  /** Every bound sample taken around the rows, per input size. */
  const drift = new Map<number, number[]>(sizes.map((size) => [size, [bounds.get(size)!]]));
  /** Runs one load and measures the bound for its input size just before and after it. */
  const besideBound = async <T>(inputBytes: number, run: () => Promise<T>): Promise<{ figures: T; bound: number }> => {
    const sample = () => cryptoBound.measure(boundCase(inputBytes), quick ? 500 : 2000);
    const before = await sample();
    const figures = await run();
    const after = await sample();
    drift.get(inputBytes)!.push(before, after);
    return { figures, bound: (before + after) / 2 };
  };

  const rows: Row[] = [];
  let singleParts: ReturnType<typeof meanParts> | undefined;
  for (const processes of [1, 2]) {
    const node = await startNode(processes);
    try {
      await warmUp(node);
      for (const inputBytes of sizes) {
        const count = quick ? (inputBytes > 4096 ? 150 : 300) : inputBytes > 4096 ? 1000 : 3000;
        const { figures, bound } = await besideBound(inputBytes, () => load(node, { concurrency: CONCURRENCY, count, inputBytes, signed: false }));
        const row: Row = { label: 'throughput', store: 'LMDB', processes, inputBytes, concurrency: CONCURRENCY, figures, bound, rssMiB: 0 };
        rows.push(row);
        process.stderr.write(`${processes} worker process(es), ${inputBytes} B: ${figures.perSecond.toFixed(0)}/s, p50 ${figures.p50Ms.toFixed(2)} ms, p99 ${figures.p99Ms.toFixed(2)} ms, errors ${figures.errors}, verified ${figures.verified}, CPU ms/work order node ${figures.cpu.node.toFixed(2)} workers ${figures.cpu.workers.toFixed(2)} load generator ${figures.cpu.loadGenerator.toFixed(2)}\n`);
      }
      if (processes === 1) {
        const totalsBefore = await latencyTotals(node);
        const { figures, bound } = await besideBound(1024, () => load(node, { concurrency: 1, count: quick ? 200 : 1000, inputBytes: 1024, signed: false }));
        singleParts = meanParts(totalsBefore, await latencyTotals(node));
        rows.push({ label: 'single requester latency', store: 'LMDB', processes, inputBytes: 1024, concurrency: 1, figures, bound, rssMiB: 0 });
        process.stderr.write(`single requester: p50 ${figures.p50Ms.toFixed(2)} ms, p99 ${figures.p99Ms.toFixed(2)} ms\n`);
      }
      const rss = peakRssMiB(node.mainPid) + node.pids.reduce((sum, pid) => sum + peakRssMiB(pid), 0);
      for (const row of rows.filter((candidate) => candidate.processes === processes)) row.rssMiB = rss;
    } finally {
      await node.stop();
    }
  }

  for (const { processes, concurrency } of [{ processes: 2, concurrency: CONCURRENCY }, { processes: 1, concurrency: 1 }]) {
    const reference = await startReference(processes);
    try {
      await warmUp(reference);
      const count = concurrency === 1 ? (quick ? 200 : 1000) : quick ? 300 : 3000;
      const { figures, bound } = await besideBound(1024, () => load(reference, { concurrency, count, inputBytes: 1024, signed: false }));
      const rss = peakRssMiB(reference.mainPid) + reference.pids.reduce((sum, pid) => sum + peakRssMiB(pid), 0);
      rows.push({ label: concurrency === 1 ? 'reference server: single requester latency' : 'reference server: throughput', store: 'none', processes, inputBytes: 1024, concurrency, figures, bound, rssMiB: rss });
      process.stderr.write(`reference server, ${processes} worker process(es), ${concurrency} requester(s): ${figures.perSecond.toFixed(0)}/s, p50 ${figures.p50Ms.toFixed(2)} ms, p99 ${figures.p99Ms.toFixed(2)} ms, errors ${figures.errors}, verified ${figures.verified}\n`);
    } finally {
      await reference.stop();
    }
  }

  const postgresUrl = process.env.TCF_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  if (await postgresReachable(postgresUrl)) {
    const schema = `tcf_bench_${process.pid}`;
    const node = await startNode(2, `${postgresUrl}?schema=${schema}`);
    try {
      await warmUp(node);
      const { figures, bound } = await besideBound(1024, () => load(node, { concurrency: CONCURRENCY, count: quick ? 300 : 3000, inputBytes: 1024, signed: false }));
      const rss = peakRssMiB(node.mainPid) + node.pids.reduce((sum, pid) => sum + peakRssMiB(pid), 0);
      rows.push({ label: 'throughput', store: 'PostgreSQL', processes: 2, inputBytes: 1024, concurrency: CONCURRENCY, figures, bound, rssMiB: rss });
      process.stderr.write(`PostgreSQL, 2 worker processes, 1024 B: ${figures.perSecond.toFixed(0)}/s\n`);
    } finally {
      await node.stop();
      await dropSchema(postgresUrl, schema);
    }
  } else {
    process.stderr.write(`PostgreSQL not reachable at ${postgresUrl}: its row is left out\n`);
  }

  await cryptoBound.close();
  const single = rows.find((row) => row.store === 'LMDB' && row.concurrency === 1)!;
  const referenceThroughput = rows.find((row) => row.store === 'none' && row.concurrency > 1)!;
  const referenceSingle = rows.find((row) => row.store === 'none' && row.concurrency === 1)!;
  const one = rows.find((row) => row.label === 'throughput' && row.store === 'LMDB' && row.processes === 1 && row.inputBytes === 1024)!;
  const two = rows.find((row) => row.label === 'throughput' && row.store === 'LMDB' && row.processes === 2 && row.inputBytes === 1024)!;
  const table = [
    `Machine: ${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ${quick ? 'quick' : 'full'} run, ${new Date().toISOString().slice(0, 10)}.`,
    `Command: \`npm run bench${quick ? ' -- --quick' : ''}\`. Worker RSA key ${RSA_BITS} bits; load generator: ${CONCURRENCY} concurrent synchronous requesters in a separate process, work orders pre-built; echo-result.`,
    '',
    '| run | store | worker processes | input | work orders/s | ratio to crypto-only bound | p50 ms | p99 ms | peak RSS (node + workers) | CPU ms per work order: node / workers / load generator (/ PostgreSQL server) | CPU ceiling: work orders/s (ratio to bound) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...sizes.map((size) => `| crypto-only bound (${cores} threads) | – | – | ${size / 1024} KiB | ${bounds.get(size)!.toFixed(0)} | 1.00 | – | – | – | ${(cores * 1000 / bounds.get(size)!).toFixed(2)} (crypto only) | – |`),
    ...rows.map((row) => {
      const { cpu } = row.figures;
      const spent = [cpu.node, cpu.workers, cpu.loadGenerator, ...(cpu.database === undefined ? [] : [cpu.database])].map((ms) => ms.toFixed(2)).join(' / ');
      const ceiling = cpuCeiling(cpu, cores, row.processes);
      const ceilingCell = row.concurrency > 1 ? `${ceiling.toFixed(0)} (${(ceiling / row.bound).toFixed(2)})` : '–';
      return `| ${row.label} (${row.concurrency} requester${row.concurrency > 1 ? 's' : ''}) | ${row.store} | ${row.processes} | ${row.inputBytes / 1024} KiB | ${row.figures.perSecond.toFixed(0)} | ${(row.figures.perSecond / row.bound).toFixed(2)} | ${row.figures.p50Ms.toFixed(2)} | ${row.figures.p99Ms.toFixed(2)} | ${row.rssMiB.toFixed(0)} MiB | ${spent} | ${ceilingCell} |`;
    }),
    '',
    `Scaling from 1 to 2 worker processes (1 KiB): ${(two.figures.perSecond / one.figures.perSecond).toFixed(2)}×; the CPU the 2-process run spent per work order caps it at ${(cpuCeiling(two.figures.cpu, cores, 2) / one.figures.perSecond).toFixed(2)}× on ${cores} cores.`,
    `Latency floor: one work order's crypto alone on one core takes p50 ${floor.p50Ms.toFixed(2)} ms, p99 ${floor.p99Ms.toFixed(2)} ms here; the single requester's p50 and p99 are ${(single.figures.p50Ms / floor.p50Ms).toFixed(2)}× and ${(single.figures.p99Ms / floor.p99Ms).toFixed(2)}× those.`,
    ...(singleParts ? [singleRequesterParts(single.figures.meanMs, singleParts)] : []),
    `Reference server (bench/reference-node.ts: HTTP in, the worker's crypto and echo-result in worker processes, the result out; no store, no checks, no receipt update): ${referenceThroughput.figures.perSecond.toFixed(0)}/s with 2 processes (${(referenceThroughput.figures.perSecond / referenceThroughput.bound).toFixed(2)} of the bound), one requester p50 ${referenceSingle.figures.p50Ms.toFixed(2)} / p99 ${referenceSingle.figures.p99Ms.toFixed(2)} ms: what these cores allow any design that keeps the worker out of the HTTP process. TCF's 2-process 1 KiB row reaches ${(two.figures.perSecond / referenceThroughput.figures.perSecond).toFixed(2)} of its throughput; its single requester's p50 and p99 are ${(single.figures.p50Ms / referenceSingle.figures.p50Ms).toFixed(2)}× and ${(single.figures.p99Ms / referenceSingle.figures.p99Ms).toFixed(2)}× the reference's.`,
    `Ratios: each row's is to the bound measured just before and after it (${boundSamples(drift, sizes)}); the bound rows above were measured first, over ${boundMs / 1000} s.`,
    'CPU ceiling: what the cores could sustain doing nothing but the CPU work each row measured per work order, with no idle time (and no more than one core per worker process); a row below its ceiling lost time to waiting, a ceiling below the bound is work beyond the crypto.',
  ].join('\n');
  process.stdout.write(table + '\n');
  if (rows.some((row) => row.figures.errors > 0 || row.figures.verified === 0)) {
    process.stderr.write('some work orders failed or no sampled result verified: the figures are not valid\n');
    process.exitCode = 1;
  }
  if (write) {
    const file = path.join(ROOT, 'BENCHMARKS.md');
    const begin = '<!-- direct-model benchmark: begin -->';
    const end = '<!-- direct-model benchmark: end -->';
    const section = `${begin}\n${table}\n${end}`;
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
    const next = current.includes(begin)
      ? current.slice(0, current.indexOf(begin)) + section + current.slice(current.indexOf(end) + end.length)
      : `${current.trimEnd()}\n\n## Direct model: throughput and latency against the crypto-only bound\n\n${section}\n`;
    fs.writeFileSync(file, next);
  }
}

await main();
