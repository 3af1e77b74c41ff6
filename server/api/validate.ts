/**
 * Request validation: every body, query and path parameter goes through a zod schema, and a
 * refusal is always 400 STW_ERR_VALIDATION with a readable message and the issues as detail.
 */
import { z } from 'zod';
import { StoreTwinError } from '../errors.ts';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new StoreTwinError('STW_ERR_VALIDATION', `invalid ${where}: ${z.prettifyError(parsed.error)}`, parsed.error.issues);
}

/** Query-string limit: default 100, at most 1000 (a page must stay cheap to build and send). */
export const limitSchema = z.coerce.number().int().min(1).max(1000).default(100);

/** ISO 8601 date-time with a zone (`Z` or an offset), as the stores compare them. */
export const isoDateTimeSchema = z.iso.datetime({ offset: true });

/** A non-empty query-string value; repeated keys (`?a=1&a=2`) arrive as arrays and are refused. */
export const queryString = z.string().min(1).max(200);
