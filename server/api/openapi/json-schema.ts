/**
 * zod → JSON Schema 2020-12 (the dialect of OpenAPI 3.1 schema objects), the one conversion the
 * API description uses for requests and MQTT payloads. Answers go through document.ts's
 * registry instead, so that named schemas become `$ref`s.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/** A JSON Schema without the keys that only make sense at a document's root. */
export function embedded(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/**
 * zod writes its ISO 8601 check as both `format: date-time` and a 500-character `pattern`; the
 * format says the same (RFC 3339 requires the offset too), so the pattern is left out.
 */
export function tidy(ctx: { jsonSchema: JsonSchema }): void {
  if (ctx.jsonSchema.format === 'date-time') delete ctx.jsonSchema.pattern;
}

/** What a client may send: defaults make fields optional, transforms show their input. */
export function inputSchema(schema: z.ZodType): JsonSchema {
  return embedded(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override: tidy }) as JsonSchema);
}
