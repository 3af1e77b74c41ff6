/**
 * Hostile variants of a pushed body for adapter tests: every truncation, random bytes, and the
 * JSON document with each value in turn replaced by something of the wrong kind (huge numbers,
 * strings, null, arrays, deep nesting). An adapter's `parse` must answer every one with a
 * result — accepted, ignored or a coded refusal — and never throw.
 */
import { mulberry32 } from '../../devices/shared/random.ts';
import { ERRORS } from '../../server/errors.ts';
import type { ParseResult } from '../../server/integrations/adapters/types.ts';

/** Every prefix of `body` (all of them for short bodies, an even spread of 400 for long ones). */
export function truncations(body: Buffer): Buffer[] {
  const step = Math.max(1, Math.floor(body.length / 400));
  const out: Buffer[] = [];
  for (let n = 0; n < body.length; n += step) out.push(body.subarray(0, n));
  return out;
}

/** `count` random bodies of up to `maxLength` bytes, some of them almost JSON. */
export function randomBodies(seed: number, count: number, maxLength = 512): Buffer[] {
  const random = mulberry32(seed);
  const out: Buffer[] = [];
  const alphabet = '{}[]":,0123456789-.eE truefalsnul\\"abcXYZ\u00e9\u4e2d';
  for (let i = 0; i < count; i++) {
    const length = Math.floor(random() * maxLength);
    if (i % 2 === 0) {
      out.push(Buffer.from(Array.from({ length }, () => Math.floor(random() * 256))));
    } else {
      out.push(Buffer.from(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''), 'utf8'));
    }
  }
  return out;
}

/** Values of the wrong kind or out of every range. */
export const HOSTILE_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  1.5,
  '',
  'x'.repeat(5000),
  '\u0000\ud800',
  '1e400',
  '-1',
  [],
  [1, 2, 3],
  {},
  { a: { b: { c: { d: [[[[{}]]]] } } } },
];

/** Every document obtained from `value` by replacing one value (at any depth) with a hostile one. */
export function jsonMutations(value: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (node: unknown, replace: (v: unknown) => unknown): void => {
    for (const hostile of HOSTILE_VALUES) out.push(replace(hostile));
    if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, (v) => replace(node.map((c, j) => (j === i ? v : c)))));
    } else if (typeof node === 'object' && node !== null) {
      const record = node as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        walk(record[key], (v) => replace({ ...record, [key]: v }));
        // The member removed altogether.
        out.push(replace(Object.fromEntries(Object.entries(record).filter(([k]) => k !== key))));
      }
    }
  };
  walk(value, (v) => v);
  return out;
}

/** Checks a parse result's shape: accepted, or refused with a catalogue code and a message. */
export function assertWellFormed(result: ParseResult): void {
  if (result.ok) {
    if (!Array.isArray(result.messages)) throw new Error('messages is not an array');
    return;
  }
  if (!(result.code in ERRORS)) throw new Error(`refusal code ${result.code} is not in the catalogue`);
  if (typeof result.message !== 'string' || result.message.length === 0) throw new Error('refusal without a message');
}
