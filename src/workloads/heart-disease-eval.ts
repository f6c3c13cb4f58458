/**
 * heart-disease-eval, Avalon's risk demo, with its exact input format, arithmetic and output text.
 *
 * An input is `<label>:<14 integers separated by spaces>`. Like Avalon, the values are the second
 * non-empty colon-separated field (so `: 1 2 …` with nothing before the colon counts as no values),
 * each value is parsed like std::stoi (leading whitespace, a sign, digits, then anything; C++ left
 * the order of the 14 parses unspecified, here the first bad value from the left decides), and the
 * risk is 100 minus the truncated weighted sum of per-factor scores, in IEEE double arithmetic and
 * Avalon's summation order so that the truncation lands where Avalon's does.
 *
 * An input with no values asks for the running statistics of this worker process: Avalon kept them
 * in function-level statics, which its plug-in's "clear state" call never actually cleared. Here
 * they are fields of the instance, so each registry (one per worker process) has its own. Every
 * input updates the statistics, but only the last one by index answers, always at index 0.
 */
import { fileURLToPath } from 'node:url';
import type { WorkOrderInput, WorkOrderOutput } from '../workorder/worker.js';
import { inIndexOrder, tokens } from './avalon-text.js';
import type { Workload } from './workload.js';

const COLON = 0x3a;
const SPACE = 0x20;
const VALUE_COUNT = 14;

export const HEART_DISEASE_MESSAGES = {
  noHistory: 'No accumulated heart disease history',
  wrongFormat: 'Error with missing or incorrect input format',
  notAnInteger: 'Invalid data found in input data',
  outOfRange: 'Caught exception while processing workload data',
} as const;

export class HeartDiseaseEval implements Workload {
  readonly name = 'heart-disease-eval';
  readonly description = 'Estimates heart disease risk from 14 clinical values; with no values, reports the running average';
  readonly sourceFile = fileURLToPath(import.meta.url);
  #totalRisk = 0;
  #count = 0;

  async process(inputs: readonly WorkOrderInput[]): Promise<WorkOrderOutput[]> {
    let answer = '';
    for (const input of inIndexOrder(inputs)) answer = this.#evaluate(input.data);
    return [{ index: 0, data: Buffer.from(answer, 'utf8') }];
  }

  #evaluate(data: Buffer): string {
    const [, valueField] = tokens(data, COLON);
    const values = valueField === undefined ? [] : tokens(valueField, SPACE);
    if (values.length === 0) {
      return this.#count === 0
        ? HEART_DISEASE_MESSAGES.noHistory
        : `Heart disease risk is ${Math.trunc(this.#totalRisk / this.#count)}% for ${this.#count} people`;
    }
    if (values.length !== VALUE_COUNT) return HEART_DISEASE_MESSAGES.wrongFormat;

    const numbers: number[] = [];
    for (const value of values) {
      const parsed = parseLikeStoi(value.toString('latin1'));
      if (parsed === 'invalid') return HEART_DISEASE_MESSAGES.notAnInteger;
      if (parsed === 'out-of-range') return HEART_DISEASE_MESSAGES.outOfRange;
      numbers.push(parsed);
    }
    const risk = heartDiseaseRisk(numbers);
    this.#totalRisk += risk;
    this.#count += 1;
    return `You have a ${risk}% risk of heart disease`;
  }
}

type HeartDiseaseValues = readonly [
  age: number,
  sex: number,
  chestPain: number,
  restingBloodPressure: number,
  cholesterol: number,
  fastingBloodSugar: number,
  restingEcg: number,
  maxHeartRate: number,
  exerciseAngina: number,
  stDepression: number,
  stSlope: number,
  majorVessels: number,
  thallium: number,
  diagnosis: number,
];

/** Avalon's risk percentage; the sum is written out in its order because rounding depends on it. */
export function heartDiseaseRisk(values: readonly number[]): number {
  if (!isFullRecord(values)) throw new RangeError(`heart-disease-eval needs ${VALUE_COUNT} values, got ${values.length}`);
  const [age, sex, cp, trestbps, chol, fbs, restecg, thalach, exang, oldpeak, slope, ca, thal, num] = values;
  const sum =
    nearOptimum(100, 18, age) * 0.03 +
    (sex === 0 ? 100 : 0) * 0.01 +
    chestPainScore(cp) * 0.21 +
    nearOptimum(218, 108, trestbps) * 0.05 +
    nearOptimum(309, 126, chol) * 0.05 +
    nearOptimum(248, 98, fbs) * 0.04 +
    restingEcgScore(restecg) * 0.19 +
    aroundOptimum(198, 61, thalach) * 0.06 +
    (exang === 1 ? 0 : 100) * 0.18 +
    nearOptimum(100, 0, oldpeak) * 0.05 +
    slopeScore(slope) * 0.03 +
    vesselScore(ca) * 0.04 +
    thalliumScore(thal) * 0.02 +
    (num === 0 ? 100 : 0) * 0.04;
  return 100 - Math.trunc(sum);
}

function isFullRecord(values: readonly number[]): values is HeartDiseaseValues {
  return values.length === VALUE_COUNT;
}

/** 100 below `opt`, 0 from `max` on, linear in between. */
function nearOptimum(max: number, opt: number, data: number): number {
  if (data < opt) return 100;
  if (data < max) return (100 * (max - data)) / (max - opt);
  return 0;
}

/** 100 at `opt`, falling linearly with the distance either side, 0 from `max - opt` away. */
function aroundOptimum(max: number, opt: number, data: number): number {
  const delta = Math.abs(data - opt);
  return delta < max - opt ? 100 - (100 * delta) / (max - opt) : 0;
}

function chestPainScore(type: number): number {
  return type === 1 ? 0 : type === 2 ? 12 : type === 3 ? 35 : 100;
}

function restingEcgScore(type: number): number {
  return type === 1 ? 9 : type === 2 ? 7 : 100;
}

function slopeScore(type: number): number {
  return type === 0 ? 49 : type === 1 ? 100 : 63;
}

function vesselScore(count: number): number {
  return count === 0 ? 0 : count === 1 ? 35 : count === 2 ? 70 : 100;
}

function thalliumScore(value: number): number {
  if (value >= 8) return 100;
  if (value >= 6) return 79;
  if (value >= 3) return 45;
  return 0;
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** std::stoi: strtol in base 10 on the C string, then a range check against int. */
function parseLikeStoi(text: string): number | 'invalid' | 'out-of-range' {
  const match = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(text);
  if (match === null) return 'invalid';
  const digits = (match[2] as string).replace(/^0+(?=.)/, '');
  const magnitude = digits.length > 10 ? Infinity : Number(digits);
  const value = match[1] === '-' ? -magnitude : magnitude;
  return value < INT_MIN || value > INT_MAX ? 'out-of-range' : value;
}
