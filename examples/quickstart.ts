// The SDK in fifteen lines: verify a worker, submit a signed work order, read the verified result.
// Run it against a node started with `npm start`:  node --import tsx examples/quickstart.ts [url]
import { generateSigningKey, TcfClient } from 'tcf';

const client = new TcfClient(process.argv[2] ?? 'http://127.0.0.1:1947');
const [workerId] = await client.lookUpWorkers({ workerType: 1 });
if (!workerId) throw new Error('the TCS has no worker');
const worker = await client.trustedWorker(workerId); // evidence + key binding, or it throws
console.log(`worker ${workerId.slice(0, 12)}… evidence ${worker.evidence.proofDataType}`);
const requester = generateSigningKey(); // or load yours: signingKeyFromPem(pem)
const result = await client.run({ workerId, workload: 'echo-result', inputs: ['Hello, TCF'], signer: requester });
console.log(`work order ${result.workOrderId.slice(0, 12)}… →`, result.outData[0]?.data.toString());
