/**
 * A small declarative schema for resource documents, and the walker that checks a document against
 * it. Every problem is reported with its field path (`spec.ingress[1].destination.ports[0]`) and the
 * offending value, and the walk goes on, so a user sees all the problems of a document at once.
 * Unknown fields are errors: a misspelt field silently ignored is the worst kind of policy bug.
 */
import type { ValueCheck } from './values.js';

export type Schema =
  | { readonly t: 'string'; readonly check?: ValueCheck; readonly enum?: readonly string[] }
  | { readonly t: 'int'; readonly min?: number; readonly max?: number }
  | { readonly t: 'number' }
  | { readonly t: 'bool' }
  | { readonly t: 'array'; readonly items: Schema }
  | {
      readonly t: 'object';
      readonly fields: Readonly<Record<string, Schema>>;
      readonly required?: readonly string[];
    }
  | { readonly t: 'map'; readonly key?: ValueCheck; readonly value: Schema }
  /** A value of any JSON type, checked by a function (ports: number or string; AS numbers). */
  | { readonly t: 'value'; readonly check: ValueCheck };

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** Quotes a value the way error messages show it: `"70000"`, `"true"`, `{"a":1}`. */
export function showValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return `"${String(v)}"`;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

export function checkAgainst(schema: Schema, value: unknown, path: string, errors: FieldError[]): void {
  const fail = (message: string): void => {
    errors.push({ path, message: `${path}: ${message}` });
  };
  switch (schema.t) {
    case 'string':
      if (typeof value !== 'string')
        return fail(`${showValue(value)} is ${typeName(value)}, expected a string`);
      if (schema.enum && !schema.enum.includes(value))
        return fail(`${showValue(value)} is not one of ${schema.enum.join(', ')}`);
      if (schema.check) {
        const problem = schema.check(value);
        if (problem) fail(`${showValue(value)} ${problem}`);
      }
      return;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value))
        return fail(`${showValue(value)} is not an integer`);
      if (
        (schema.min !== undefined && value < schema.min) ||
        (schema.max !== undefined && value > schema.max)
      )
        return fail(`${showValue(value)} is out of range (${schema.min ?? '-∞'} to ${schema.max ?? '∞'})`);
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${showValue(value)} is not a number`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') fail(`${showValue(value)} is not a boolean (true or false)`);
      return;
    case 'value': {
      const problem = schema.check(value);
      if (problem) fail(`${showValue(value)} ${problem}`);
      return;
    }
    case 'array':
      if (!Array.isArray(value)) return fail(`${showValue(value)} is ${typeName(value)}, expected a list`);
      value.forEach((item, i) => checkAgainst(schema.items, item, `${path}[${i}]`, errors));
      return;
    case 'map':
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return fail(`${showValue(value)} is ${typeName(value)}, expected a map`);
      for (const [k, v] of Object.entries(value)) {
        const keyProblem = schema.key?.(k);
        if (keyProblem) errors.push({ path, message: `${path}: key ${showValue(k)} ${keyProblem}` });
        checkAgainst(schema.value, v, `${path}.${k}`, errors);
      }
      return;
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return fail(`${showValue(value)} is ${typeName(value)}, expected an object`);
      const obj = value as Record<string, unknown>;
      for (const [k, v] of Object.entries(obj)) {
        const sub = schema.fields[k];
        const subPath = path ? `${path}.${k}` : k;
        if (!sub) {
          errors.push({
            path: subPath,
            message: `${subPath}: unknown field "${k}" (known fields: ${Object.keys(schema.fields).join(', ')})`,
          });
          continue;
        }
        if (v === null || v === undefined) continue;
        checkAgainst(sub, v, subPath, errors);
      }
      for (const r of schema.required ?? []) {
        if (obj[r] === undefined || obj[r] === null || obj[r] === '') {
          const subPath = path ? `${path}.${r}` : r;
          errors.push({ path: subPath, message: `${subPath}: required field is missing` });
        }
      }
      return;
    }
    default: {
      const never: never = schema;
      throw new Error(`internal: unknown schema ${JSON.stringify(never)}`);
    }
  }
}

// Small constructors keep the per-kind schemas readable.
export const str = (check?: ValueCheck): Schema => (check ? { t: 'string', check } : { t: 'string' });
export const oneOf = (...values: string[]): Schema => ({ t: 'string', enum: values });
export const int = (min?: number, max?: number): Schema => ({
  t: 'int',
  ...(min !== undefined ? { min } : {}),
  ...(max !== undefined ? { max } : {}),
});
export const num: Schema = { t: 'number' };
export const bool: Schema = { t: 'bool' };
export const list = (items: Schema): Schema => ({ t: 'array', items });
export const obj = (fields: Record<string, Schema>, required?: string[]): Schema =>
  required ? { t: 'object', fields, required } : { t: 'object', fields };
export const map = (value: Schema, key?: ValueCheck): Schema =>
  key ? { t: 'map', value, key } : { t: 'map', value };
export const val = (check: ValueCheck): Schema => ({ t: 'value', check });
