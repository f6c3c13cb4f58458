/**
 * A small validator-combinator kit: each schema both checks an untrusted JSON value and gives its
 * TypeScript type (Infer<typeof schema>), so a wire format is written down exactly once.
 * A failure names the field by its JSON path (e.g. `params.inData[2].iv`) and carries the spec's
 * INVALID_PARAMETER code.
 */
import { isBase64, isHex } from '../crypto/encoding.js';
import { ErrorCode, TcfError } from './errors.js';

export interface Schema<T> {
  readonly optional: boolean;
  /** Returns the checked value or throws TcfError(INVALID_PARAMETER) naming `path`. */
  check(value: unknown, path: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

function fail(path: string, problem: string): never {
  throw new TcfError(ErrorCode.INVALID_PARAMETER, `${path}: ${problem}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function required<T>(check: (value: unknown, path: string) => T): Schema<T> {
  return { optional: false, check };
}

export interface StringOptions {
  minLength?: number;
  maxLength?: number;
  pattern?: RegExp;
  patternName?: string;
}

/** Wire strings are bounded by default: an unbounded string is a memory attack. */
export const DEFAULT_MAX_STRING = 1 << 16;

export function string(options: StringOptions = {}): Schema<string> {
  const { minLength = 0, maxLength = DEFAULT_MAX_STRING, pattern, patternName } = options;
  return required((value, path) => {
    if (typeof value !== 'string') fail(path, `expected a string, got ${describe(value)}`);
    if (value.length < minLength) fail(path, minLength === 1 ? 'must not be empty' : `must be at least ${minLength} characters`);
    if (value.length > maxLength) fail(path, `must be at most ${maxLength} characters, got ${value.length}`);
    if (pattern && !pattern.test(value)) fail(path, `must be ${patternName ?? `a string matching ${pattern}`}`);
    // No field of the protocol has a use for NUL, and PostgreSQL cannot store it in text or jsonb: refused
    // here, every store answers the same clear code 2 instead of an internal error from one of them.
    if (value.includes('\u0000')) fail(path, 'must not contain the NUL character (U+0000)');
    return value;
  });
}

const HEX_ID = /^(0[xX])?[0-9a-fA-F]+$/;

/** A hex identifier or nonce as Avalon's schemas accept it (0x prefix allowed, any length ≥ 1). */
export function hexId(maxLength = 256): Schema<string> {
  return string({ minLength: 1, maxLength, pattern: HEX_ID, patternName: 'a hex string' });
}

/** Hex that is decoded to bytes: even length required. `allowEmpty` admits "". */
export function hexBytes(options: { maxLength?: number; allowEmpty?: boolean } = {}): Schema<string> {
  const { maxLength = DEFAULT_MAX_STRING, allowEmpty = false } = options;
  return required((value, path) => {
    if (typeof value !== 'string') fail(path, `expected a hex string, got ${describe(value)}`);
    if (value === '' && allowEmpty) return value;
    if (value.length > maxLength) fail(path, `must be at most ${maxLength} characters, got ${value.length}`);
    if (!isHex(value) || value.replace(/^0[xX]/, '') === '') fail(path, 'must be an even-length hex string');
    return value;
  });
}

export function base64(options: { maxLength?: number; allowEmpty?: boolean } = {}): Schema<string> {
  const { maxLength = DEFAULT_MAX_STRING, allowEmpty = false } = options;
  return required((value, path) => {
    if (typeof value !== 'string') fail(path, `expected a base64 string, got ${describe(value)}`);
    if (value === '' && !allowEmpty) fail(path, 'must not be empty');
    if (value.length > maxLength) fail(path, `must be at most ${maxLength} characters, got ${value.length}`);
    if (!isBase64(value)) fail(path, 'must be padded standard base64');
    return value;
  });
}

export function integer(options: { min?: number; max?: number } = {}): Schema<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return required((value, path) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, `expected an integer, got ${describe(value)}`);
    if (value < min || value > max) fail(path, `must be between ${min} and ${max}, got ${value}`);
    return value;
  });
}

export function oneOf<const T extends readonly (string | number)[]>(values: T): Schema<T[number]> {
  return required((value, path) => {
    if (!values.includes(value as T[number])) fail(path, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
    return value as T[number];
  });
}

export interface ArrayOptions<T> {
  minItems?: number;
  maxItems?: number;
  /** Items must differ in this key (e.g. a data item's index); the message names the repeated value. */
  uniqueBy?: (item: T) => string | number;
  uniqueName?: string;
}

export function array<T>(item: Schema<T>, options: ArrayOptions<T> = {}): Schema<T[]> {
  const { minItems = 0, maxItems = 4096, uniqueBy, uniqueName = 'key' } = options;
  return required((value, path) => {
    if (!Array.isArray(value)) fail(path, `expected an array, got ${describe(value)}`);
    if (value.length < minItems) fail(path, `must have at least ${minItems} item${minItems === 1 ? '' : 's'}`);
    if (value.length > maxItems) fail(path, `must have at most ${maxItems} items, got ${value.length}`);
    const checked = value.map((element, index) => item.check(element, `${path}[${index}]`));
    if (uniqueBy) {
      const seen = new Set<string | number>();
      checked.forEach((element, index) => {
        const key = uniqueBy(element);
        if (seen.has(key)) fail(`${path}[${index}].${uniqueName}`, `repeats ${JSON.stringify(key)}; each item needs its own`);
        seen.add(key);
      });
    }
    return checked;
  });
}

/** Accepts any JSON object without looking inside: for opaque, application-defined values. */
export function anyObject(): Schema<Record<string, unknown>> {
  return required((value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, `expected an object, got ${describe(value)}`);
    return value as Record<string, unknown>;
  });
}

export function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  return {
    optional: true,
    check: (value, path) => (value === undefined ? undefined : schema.check(value, path)),
  };
}

/** Accepts JSON null as "absent" (Avalon clients send null for unset optional fields). */
export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return { optional: schema.optional, check: (value, path) => (value === null ? null : schema.check(value, path)) };
}

export type Shape = Record<string, Schema<unknown>>;

type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type InferShape<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> }
>;

export interface ObjectOptions {
  /** 'reject' (default) answers INVALID_PARAMETER for an unknown field; 'keep' passes it through unchecked. */
  unknownFields?: 'reject' | 'keep';
}

export function object<S extends Shape>(shape: S, options: ObjectOptions = {}): Schema<InferShape<S>> {
  const keys = Object.keys(shape);
  const rejectUnknown = (options.unknownFields ?? 'reject') === 'reject';
  return required((value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, `expected an object, got ${describe(value)}`);
    const input = value as Record<string, unknown>;
    const output: Record<string, unknown> = rejectUnknown ? {} : { ...input };
    for (const key of keys) {
      const field = shape[key] as Schema<unknown>;
      const fieldValue = Object.hasOwn(input, key) ? input[key] : undefined;
      if (fieldValue === undefined && !field.optional) fail(`${path}.${key}`, 'is required');
      const checked = field.check(fieldValue, `${path}.${key}`);
      if (checked !== undefined) output[key] = checked;
    }
    if (rejectUnknown) {
      for (const key of Object.keys(input)) {
        if (!Object.hasOwn(shape, key)) fail(`${path}.${key}`, 'is not a field of this message');
      }
    }
    return output as InferShape<S>;
  });
}

export type Validation<T> = { ok: true; value: T } | { ok: false; error: TcfError };

/** Checks `value` against `schema` without throwing: the boundary form for listeners and clients. */
export function validate<T>(schema: Schema<T>, value: unknown, path = 'params'): Validation<T> {
  try {
    return { ok: true, value: schema.check(value, path) };
  } catch (error) {
    if (error instanceof TcfError) return { ok: false, error };
    throw error;
  }
}
