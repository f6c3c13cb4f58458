/**
 * `tcf receipts list|show`: receipts for audit — who created them, every update, and whether each
 * update's signature verifies (a worker's against its registered, attested key).
 */
import type { Command } from 'commander';
import { base64ToBytes } from '../../crypto/encoding.js';
import { requesterIdForKey, verifyingKeyFromPem } from '../../crypto/keys.js';
import { ecdsaVerifyDigest, type HashingAlgorithm } from '../../crypto/primitives.js';
import { receiptUpdateHash } from '../../protocol/hashing.js';
import { sameId } from '../../protocol/ids.js';
import type { ReceiptUpdate } from '../../protocol/messages.js';
import type { TcfClient } from '../../client/client.js';
import { RpcCallError } from '../../client/rpc-client.js';
import { ErrorCode } from '../../protocol/errors.js';
import { clientFor, wholeNumber, withClientOptions, type ClientFlags } from '../context.js';
import { printJson, say } from '../output.js';

const STATUS_NAMES: Record<number, string> = { 0: 'PENDING', 1: 'COMPLETED', 2: 'PROCESSED', 3: 'FAILED', 4: 'REJECTED' };
const statusName = (status: number) => STATUS_NAMES[status] ?? (status > 255 ? `application status ${status}` : `status ${status}`);

async function checkUpdate(client: TcfClient, update: ReceiptUpdate, requesterId: string, workerId: string): Promise<{ signatureValid: boolean; signer: string }> {
  const algorithm = (update.signatureRules.split('/')[0] ?? 'SHA-256') as HashingAlgorithm;
  let key: Uint8Array;
  try {
    key = verifyingKeyFromPem(update.receiptVerificationKey);
  } catch {
    return { signatureValid: false, signer: 'unreadable key' };
  }
  const valid = ecdsaVerifyDigest(key, receiptUpdateHash(update, algorithm), base64ToBytes(update.updateSignature));
  if (sameId(update.updaterId, workerId)) {
    const registered = verifyingKeyFromPem((await client.getWorker(workerId)).details.workerTypeData.verificationKey);
    return { signatureValid: valid && Buffer.compare(Buffer.from(registered), Buffer.from(key)) === 0, signer: 'worker' };
  }
  return { signatureValid: valid && sameId(update.updaterId, requesterIdForKey(key)), signer: sameId(update.updaterId, requesterId) ? 'requester' : 'other' };
}

export function registerReceiptCommands(program: Command): void {
  const receipts = program
    .command('receipts')
    .description('Look up and audit work-order receipts.')
    .addHelpText('after', '\nExamples:\n  tcf receipts list --status 2\n  tcf receipts show <workOrderId>');
  withClientOptions(receipts.command('list'))
    .description('List receipt ids matching the filters (all pages).')
    .option('--requester <id>', 'only this requesterId')
    .option('--worker <id>', 'only this workerId')
    .option('--status <n>', 'only this current status (0 PENDING, 1 COMPLETED, 2 PROCESSED, 3 FAILED, 4 REJECTED)', wholeNumber)
    .addHelpText('after', '\nExample:\n  tcf receipts list --requester "$(tcf keys show --json | jq -r .requesterId)"')
    .action(async (flags: ClientFlags & { requester?: string; worker?: string; status?: number }) => {
      const client = await clientFor(flags);
      const filter: { requesterId?: string; workerId?: string; receiptStatus?: number } = {};
      if (flags.requester) filter.requesterId = flags.requester;
      if (flags.worker) filter.workerId = flags.worker;
      if (flags.status !== undefined) filter.receiptStatus = flags.status;
      const ids: string[] = [];
      let page = await client.lookUpReceipts(filter);
      ids.push(...page.ids);
      while (page.lookupTag) {
        page = await client.lookUpReceipts(filter, page.lookupTag);
        ids.push(...page.ids);
      }
      if (flags.json) return printJson({ totalCount: ids.length, ids });
      say(`${ids.length} receipt${ids.length === 1 ? '' : 's'}`);
      for (const id of ids) say(`  ${id}`);
    });

  withClientOptions(receipts.command('show'))
    .description('Show a receipt and each of its updates, with a signature check for every update.')
    .argument('<workOrderId>', 'the work order whose receipt to show')
    .addHelpText('after', '\nExample:\n  tcf receipts show 3f2a…c9 --json')
    .action(async (workOrderId: string, flags: ClientFlags) => {
      const client = await clientFor(flags);
      const receipt = await client.retrieveReceipt(workOrderId);
      const updates = [];
      const count = await countUpdates(client, workOrderId);
      for (let index = 1; index <= count; index += 1) {
        const update = await client.retrieveReceiptUpdate(workOrderId, index);
        updates.push({ ...update, ...(await checkUpdate(client, update, receipt.requesterId, receipt.workerId)) });
      }
      if (flags.json) return printJson({ ...receipt, updates });
      say(`receipt of work order ${workOrderId}: ${statusName(receipt.receiptCurrentStatus)}`);
      say(`  created by requester ${receipt.requesterId} with status ${statusName(receipt.receiptCreateStatus)}, worker ${receipt.workerId}`);
      for (const [position, update] of updates.entries()) {
        say(`  update ${position + 1}: ${statusName(update.updateType)} by the ${update.signer} ${update.updaterId} — signature ${update.signatureValid ? 'valid' : 'INVALID'}; data ${update.updateData}`);
      }
    });
}

/** Asking for the last update tells how many there are; a receipt without updates answers code 2. */
async function countUpdates(client: TcfClient, workOrderId: string): Promise<number> {
  try {
    return (await client.retrieveReceiptUpdate(workOrderId, 0xffffffff)).updateCount;
  } catch (error) {
    if (error instanceof RpcCallError && error.code === ErrorCode.INVALID_PARAMETER) return 0;
    throw error;
  }
}
