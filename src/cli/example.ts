/**
 * The worked example `npm start` runs against the node it just started: one echo work order from a
 * signing requester, each step printed with what it proves, ending with the receipt.
 */
import { generateSigningKey } from '../crypto/keys.js';
import { TcfClient } from '../client/client.js';

export async function runWorkedExample(url: string, workerId: string, say: (line: string) => void): Promise<void> {
  const client = new TcfClient(url);
  say('');
  say('Worked example: one work order, end to end');
  say(`1. Look up the worker ${workerId.slice(0, 16)}… and verify its evidence and key binding.`);
  const worker = await client.trustedWorker(workerId);
  say(`   evidence: ${worker.evidence.proofDataType}, measurement ${worker.evidence.measurement.slice(0, 16)}… (simulated: accepted only by a development policy)`);
  const requester = generateSigningKey();
  say('2. Encrypt "Hello, TCF" for the worker: a one-time AES-256-GCM session key, wrapped with its RSA-OAEP key; sign the request hash.');
  const submission = await client.submit({ workerId, workload: 'echo-result', inputs: ['Hello, TCF'], signer: requester, responseTimeoutMs: 10_000 });
  say(`   workOrderId ${submission.workOrderId}`);
  const opened = await client.waitForResult(submission);
  say("3. The worker decrypted, ran echo-result, encrypted the output with the session key and signed the response.");
  say(`   verified signature; decrypted output: ${JSON.stringify(opened.outData.map((item) => item.data.toString('utf8')))}`);
  await client.createReceipt(submission, requester);
  const receipt = await client.retrieveReceipt(submission.workOrderId);
  say(`4. Receipt created by the requester; current status ${receipt.receiptCurrentStatus} (2 = PROCESSED, signed by the worker).`);
  say('');
  say('Try it yourself with the SDK:');
  say(`   node --import tsx examples/quickstart.ts ${url}`);
}
