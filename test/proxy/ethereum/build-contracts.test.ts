/**
 * The contract build (src/proxy/ethereum/compile.ts) on copies of the real sources: it writes every
 * deployable contract's ABI and bytecode, answers from its cache until a source changes, and fails,
 * with solc's own message, on a compile error and on a warning.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONTRACTS_DIR, ContractCompileError, compileContracts } from '../../../src/proxy/ethereum/index.js';
import { CONTRACT_NAMES, readContractArtifacts } from '../../../src/proxy/ethereum/index.js';

describe('contract build', () => {
  let directory: string;
  let contractsDir: string;
  let outFile: string;

  before(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tcf-contracts-'));
    contractsDir = path.join(directory, 'contracts');
    outFile = path.join(directory, 'build', 'contracts.json');
    fs.cpSync(CONTRACTS_DIR, contractsDir, { recursive: true });
  });

  after(() => {
    fs.rmSync(directory, { recursive: true, force: true });
  });

  const workOrderRegistry = () => path.join(contractsDir, 'WorkOrderRegistry.sol');

  it('compiles every contract for cancun with the optimizer, then answers from its cache until a source changes', async () => {
    const first = await compileContracts({ contractsDir, outFile });
    assert.equal(first.compiled, true);
    assert.match(first.artifacts.solcVersion, /^0\.8\.37\+/);
    assert.deepEqual(first.artifacts.settings, { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } });
    assert.deepEqual(readContractArtifacts(outFile), first.artifacts);
    for (const name of CONTRACT_NAMES) {
      assert.match(first.artifacts.contracts[name].bytecode, /^0x[0-9a-f]{100,}$/);
      assert.ok(Array.isArray(first.artifacts.contracts[name].abi));
    }

    const again = await compileContracts({ contractsDir, outFile });
    assert.equal(again.compiled, false);
    assert.deepEqual(again.artifacts, first.artifacts);

    fs.appendFileSync(workOrderRegistry(), '\n// a comment changes the sources, so the cache no longer applies\n');
    const changed = await compileContracts({ contractsDir, outFile });
    assert.equal(changed.compiled, true);
    assert.notEqual(changed.artifacts.sourceHash, first.artifacts.sourceHash);
  });

  it("fails with solc's message on a compile error and on a warning, and leaves the last good output alone", async () => {
    const good = fs.readFileSync(outFile, 'utf8');
    const source = fs.readFileSync(workOrderRegistry(), 'utf8');
    fs.writeFileSync(workOrderRegistry(), source.replace('order.status = STATUS_COMPLETED;', 'order.status = STATUS_COMPLETED'));
    await assert.rejects(compileContracts({ contractsDir, outFile }), (error: unknown) => {
      assert.ok(error instanceof ContractCompileError);
      assert.match(error.message, /ParserError: Expected ';'/);
      assert.match(error.message, /WorkOrderRegistry\.sol/);
      return true;
    });

    fs.writeFileSync(workOrderRegistry(), source.replace('uint8 status = order.status;', 'uint8 status = order.status;\n        uint256 unused;'));
    await assert.rejects(compileContracts({ contractsDir, outFile }), /Warning: Unused local variable/);
    assert.equal(fs.readFileSync(outFile, 'utf8'), good);
  });
});
