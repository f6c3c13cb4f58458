/**
 * Measures the gas of each proxy-model operation on a fresh anvil chain, from the transactions'
 * receipts, with the same real TCF messages the tests use (test/proxy/ethereum/fixtures.ts): a worker
 * with RSA-3072 and secp256k1 keys and simulated-TEE evidence, encrypted signed echo work orders, the
 * worker's signed results, signed receipts. Prints a markdown table for BENCHMARKS.md.
 *
 *   node --import tsx scripts/gas-report.ts
 *
 * Every operation is measured after one like it has already run on the chain, so the figures are the
 * steady state (a registry's first entry also pays for starting its list).
 */
import { ReceiptStatus, successResponse } from '../src/protocol/index.js';
import { COMPILER_SETTINGS, DEFAULT_LOOKUP_PAGE_SIZE, type LedgerTransaction } from '../src/proxy/ethereum/index.js';
import {
  Account,
  makeReceipt,
  makeReceiptUpdate,
  makeRequester,
  makeWorker,
  makeWorkOrder,
  startTestChain,
  workOrderResult,
  type TestChain,
  type TestWorker,
} from '../test/proxy/ethereum/fixtures.js';

interface Row {
  operation: string;
  storedBytes: number;
  gasUsed: bigint;
}

const INPUT_SIZES = [1024, 16 * 1024, 64 * 1024];
const RSA_BITS = 3072;

async function measure(chain: TestChain): Promise<Row[]> {
  const rows: Row[] = [];
  const add = (operation: string, stored: unknown, mined: LedgerTransaction) =>
    rows.push({ operation, storedBytes: Buffer.byteLength(JSON.stringify(stored)), gasUsed: mined.gasUsed });
  const workerLedger = chain.ledger(Account.WORKER);
  const requesterLedger = chain.ledger(Account.REQUESTER);
  const requester = makeRequester();

  // One round to start every list, then the measured round.
  const round = async (worker: TestWorker, inputBytes: number, record: boolean) => {
    const built = makeWorkOrder(worker, requester, inputBytes);
    const submitted = await requesterLedger.submitWorkOrder(built.params);
    const result = workOrderResult(worker, built);
    const response = successResponse(1, result);
    const completed = await workerLedger.completeWorkOrder(built.params.workOrderId, response);
    if (record) {
      const size = `${inputBytes / 1024} KiB input`;
      add(`workOrderSubmit (${size})`, built.params, submitted);
      add(`workOrderComplete (${size} echoed)`, response, completed);
    }
    return { built, result };
  };
  const warmUp = makeWorker();
  await workerLedger.registerWorker(warmUp.register);
  const first = await round(warmUp, 1024, false);
  await requesterLedger.createReceipt(makeReceipt(first.built, requester));
  await workerLedger.updateReceipt(makeReceiptUpdate(first.built.params.workOrderId, warmUp.secrets.workerId, warmUp.secrets.signingKey, ReceiptStatus.PROCESSED));

  const worker = makeWorker({ rsaBits: RSA_BITS });
  add(`workerRegister (RSA-${RSA_BITS} + secp256k1 keys, simulated-TEE evidence)`, worker.details, await workerLedger.registerWorker(worker.register));
  const rotated = makeWorker({ rsaBits: RSA_BITS, workerId: worker.secrets.workerId }).details;
  add('workerUpdate (new keys)', rotated, await workerLedger.updateWorker({ workerId: worker.secrets.workerId, details: rotated }));

  const measured = [];
  for (const inputBytes of INPUT_SIZES) measured.push(await round(worker, inputBytes, true));
  const { built, result } = measured[0]!;
  const receipt = makeReceipt(built, requester);
  add('workOrderReceiptCreate', receipt, await requesterLedger.createReceipt(receipt));
  const update = makeReceiptUpdate(built.params.workOrderId, worker.secrets.workerId, worker.secrets.signingKey, ReceiptStatus.COMPLETED, result);
  add('workOrderReceiptUpdate (worker, COMPLETED)', update, await workerLedger.updateReceipt(update));

  const order = ['workerRegister', 'workerUpdate', 'workOrderSubmit', 'workOrderComplete', 'workOrderReceiptCreate', 'workOrderReceiptUpdate'];
  return rows.sort((a, b) => order.indexOf(a.operation.split(' ')[0]!) - order.indexOf(b.operation.split(' ')[0]!));
}

async function main(): Promise<void> {
  const chain = await startTestChain({ lookUpPageSize: DEFAULT_LOOKUP_PAGE_SIZE });
  try {
    const rows = await measure(chain);
    const client = (await chain.anvil.provider.send('web3_clientVersion', [])) as string;
    const number = (value: number | bigint) => value.toLocaleString('en-US');
    console.log(`solc ${chain.artifacts.solcVersion}, optimizer ${JSON.stringify(COMPILER_SETTINGS.optimizer)}, evmVersion ${COMPILER_SETTINGS.evmVersion}; ${client} --hardfork cancun; Node ${process.version}`);
    console.log('');
    console.log('| operation | JSON kept on chain (bytes) | gas used |');
    console.log('|---|---:|---:|');
    for (const row of rows) console.log(`| ${row.operation} | ${number(row.storedBytes)} | ${number(row.gasUsed)} |`);
  } finally {
    await chain.stop();
  }
}

await main();
