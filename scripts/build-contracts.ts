/**
 * `npm run build:contracts`: compiles contracts/*.sol into build/contracts.json (src/proxy/ethereum/compile.ts),
 * or says the output is already up to date.
 */
import path from 'node:path';
import { CONTRACT_NAMES, DEFAULT_ARTIFACTS_FILE, compileContracts } from '../src/proxy/ethereum/index.js';

const started = performance.now();
try {
  const { artifacts, compiled } = await compileContracts();
  const verb = compiled ? `compiled in ${Math.round(performance.now() - started)} ms` : 'up to date';
  console.log(`${CONTRACT_NAMES.length} contracts ${verb} (solc ${artifacts.solcVersion}) → ${path.relative(process.cwd(), DEFAULT_ARTIFACTS_FILE)}`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
