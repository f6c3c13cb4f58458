/*
 * Expected risks come from Avalon's heart_disease_evaluation_logic.cpp (examples/apps/
 * heart_disease_eval), recomputed independently in IEEE doubles (Python, same summation order):
 *
 *   "25 10 1 67 102 125 1 95 5 10 1 11 36 1": factor scores × weights are age 91.46×0.03 = 2.744,
 *   sex 0, chest pain 0, blood pressure 100×0.05 = 5, cholesterol 100×0.05 = 5, blood sugar
 *   82×0.04 = 3.28, ECG 9×0.19 = 1.71, heart rate 75.18×0.06 = 4.511, angina (5 → default) 100×0.18
 *   = 18, ST depression 90×0.05 = 4.5, slope 100×0.03 = 3, vessels (11 → default) 100×0.04 = 4,
 *   thallium (36 ≥ 8) 100×0.02 = 2, diagnosis 0; sum 53.7449, truncated 53, risk 100 − 53 = 47.
 *   Avalon's README says 46 for this input; the code (unchanged in the repository's history) gives 47.
 *
 *   "32 1 1 156 132 125 1 95 1 0 1 1 3 1": 2.488 + 0 + 0 + 2.818 + 4.836 + 3.28 + 1.71 + 4.511 + 0
 *   + 5 + 3 + 1.4 + 0.9 + 0 = 29.943, truncated 29, risk 71.
 *
 *   "60 1 4 150 250 130 2 150 1 2 2 3 7 1": sum 46.115, risk 54 (used for the average's truncation).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultWorkloads, HEART_DISEASE_MESSAGES, HeartDiseaseEval, heartDiseaseRisk, NO_EXTERNAL_IO } from '../../src/workloads/index.js';
import { input, texts } from './helpers.js';

const SAMPLE_1 = 'Data: 25 10 1 67 102 125 1 95 5 10 1 11 36 1';
const SAMPLE_2 = 'Data: 32 1 1 156 132 125 1 95 1 0 1 1 3 1';
const SAMPLE_3 = 'Data: 60 1 4 150 250 130 2 150 1 2 2 3 7 1';

async function ask(workload: HeartDiseaseEval, ...items: string[]): Promise<Array<[number, string]>> {
  return texts(await workload.process(items.map((text, index) => input(index, text))));
}

describe('heart-disease-eval', () => {
  it("computes Avalon's risk for the README's two sample inputs (47, not the README's 46; and 71)", async () => {
    assert.deepEqual(await ask(new HeartDiseaseEval(), SAMPLE_1), [[0, 'You have a 47% risk of heart disease']]);
    assert.deepEqual(await ask(new HeartDiseaseEval(), SAMPLE_2), [[0, 'You have a 71% risk of heart disease']]);
    assert.equal(heartDiseaseRisk([25, 10, 1, 67, 102, 125, 1, 95, 5, 10, 1, 11, 36, 1]), 47);
    assert.equal(heartDiseaseRisk([32, 1, 1, 156, 132, 125, 1, 95, 1, 0, 1, 1, 3, 1]), 71);
  });

  it('reaches the ends of the scale: every factor at its best gives 0, all zeros gives 11', () => {
    assert.equal(heartDiseaseRisk([17, 0, 4, 107, 125, 97, 0, 61, 0, -1, 1, 3, 8, 0]), 0);
    assert.equal(heartDiseaseRisk(new Array(14).fill(0)), 11);
    assert.throws(() => heartDiseaseRisk([1, 2, 3]), RangeError);
  });

  it('with no values reports the accumulated statistics, truncating the average', async () => {
    const workload = new HeartDiseaseEval();
    assert.deepEqual(await ask(workload, 'Data:'), [[0, HEART_DISEASE_MESSAGES.noHistory]]);
    await ask(workload, SAMPLE_1);
    assert.deepEqual(await ask(workload, 'Data:'), [[0, 'Heart disease risk is 47% for 1 people']]);
    await ask(workload, SAMPLE_2);
    await ask(workload, SAMPLE_3);
    // (47 + 71 + 54) / 3 = 57.33…
    assert.deepEqual(await ask(workload, 'anything:'), [[0, 'Heart disease risk is 57% for 3 people']]);
  });

  it('reads the values after the first colon only when something precedes it, as Avalon\'s split drops empty fields', async () => {
    const workload = new HeartDiseaseEval();
    // No label, or no colon at all: there is no second field, so these are statistics requests.
    assert.deepEqual(await ask(workload, ': 25 10 1 67 102 125 1 95 5 10 1 11 36 1'), [[0, HEART_DISEASE_MESSAGES.noHistory]]);
    assert.deepEqual(await ask(workload, '25 10 1 67 102 125 1 95 5 10 1 11 36 1'), [[0, HEART_DISEASE_MESSAGES.noHistory]]);
    // Runs of spaces are one separator; a third field is ignored.
    assert.deepEqual(await ask(workload, 'x:  25 10 1 67 102 125 1 95 5 10 1 11 36   1 :ignored'), [[0, 'You have a 47% risk of heart disease']]);
  });

  it('answers a wrong number of values with the format error and does not count it', async () => {
    const workload = new HeartDiseaseEval();
    assert.deepEqual(await ask(workload, 'Data: 25 10 1 67 102 125 1 95 5 10 1 11 36'), [[0, HEART_DISEASE_MESSAGES.wrongFormat]]);
    assert.deepEqual(await ask(workload, `${SAMPLE_1} 9`), [[0, HEART_DISEASE_MESSAGES.wrongFormat]]);
    // With 13 values one of which is not a number, the count is checked first.
    assert.deepEqual(await ask(workload, 'Data: x 10 1 67 102 125 1 95 5 10 1 11 36'), [[0, HEART_DISEASE_MESSAGES.wrongFormat]]);
    assert.deepEqual(await ask(workload, 'Data:'), [[0, HEART_DISEASE_MESSAGES.noHistory]]);
  });

  it('parses values like std::stoi: non-numbers are invalid, numeric prefixes count, int overflow is an exception', async () => {
    const workload = new HeartDiseaseEval();
    assert.equal(HEART_DISEASE_MESSAGES.notAnInteger, 'Invalid data found in input data');
    assert.deepEqual(await ask(workload, 'Data: 25 ten 1 67 102 125 1 95 5 10 1 11 36 1'), [[0, HEART_DISEASE_MESSAGES.notAnInteger]]);
    assert.deepEqual(await ask(workload, 'Data: 25 10 1 67 102 125 1 95 5 10 1 11 36 -'), [[0, HEART_DISEASE_MESSAGES.notAnInteger]]);
    assert.deepEqual(await ask(workload, 'Data: 25 10 1 67 102 125 1 95 5 10 1 11 36 99999999999'), [[0, HEART_DISEASE_MESSAGES.outOfRange]]);
    assert.deepEqual(await ask(workload, 'Data:'), [[0, HEART_DISEASE_MESSAGES.noHistory]]);
    // "25.9" is 25, "+10" is 10, "1abc" is 1, "\t67" is 67: the same as SAMPLE_1.
    assert.deepEqual(await ask(workload, 'Data: 25.9 +10 1abc \t67 102 125 1 95 5 10 1 11 36 1\n'), [[0, 'You have a 47% risk of heart disease']]);
  });

  it('answers once, at index 0, with the last input by index; every input still counts', async () => {
    const workload = new HeartDiseaseEval();
    const outputs = await workload.process([input(5, SAMPLE_2), input(3, SAMPLE_1)]);
    assert.deepEqual(texts(outputs), [[0, 'You have a 71% risk of heart disease']]);
    assert.deepEqual(await ask(workload, 'Data:'), [[0, 'Heart disease risk is 59% for 2 people']]);
  });

  it('lets a statistics request inside a work order see the items before it', async () => {
    const workload = new HeartDiseaseEval();
    assert.deepEqual(await ask(workload, SAMPLE_1, 'Data:'), [[0, 'Heart disease risk is 47% for 1 people']]);
  });

  it('answers an empty work order with an empty output at index 0, as Avalon did', async () => {
    assert.deepEqual(texts(await new HeartDiseaseEval().process([])), [[0, '']]);
  });

  it('keeps statistics per registry (per worker process), not per module', async () => {
    const first = defaultWorkloads(NO_EXTERNAL_IO);
    const second = defaultWorkloads(NO_EXTERNAL_IO);
    await first.run('heart-disease-eval', [input(0, SAMPLE_1)]);
    assert.deepEqual(texts(await first.run('heart-disease-eval', [input(0, 'Data:')])), [[0, 'Heart disease risk is 47% for 1 people']]);
    assert.deepEqual(texts(await second.run('heart-disease-eval', [input(0, 'Data:')])), [[0, HEART_DISEASE_MESSAGES.noHistory]]);
  });
});
