/**
 * The OpenAPI 3.1 document of the HTTP API, built from the route modules' `docs` (see RouteDoc in
 * server/api/types.ts): the requests from the very zod schemas the handlers validate with
 * (`io: 'input'`: what a client may send, defaults optional), the answers from the response
 * schemas (schemas.ts, `io: 'output'`), refusals from the error catalogue. OpenAPI 3.1 schema
 * objects are JSON Schema 2020-12, which is zod's own target, so nothing is translated by hand.
 *
 * Conventions: Express paths become OpenAPI paths (`:device` → `{device}`); one tag per route
 * module; security per route (a session cookie or a bearer token, none for public routes, the
 * integration token for pushes). The MQTT interface, which OpenAPI cannot describe, is in
 * `x-mqtt` (mqtt.ts); the error catalogue in `x-error-codes`.
 */
import { z } from 'zod';
import { PERMISSIONS, type Action } from '../../auth/roles.ts';
import { ERRORS, type ErrorCode } from '../../errors.ts';
import type { ApiRouteModule, RouteDoc, RoutePermission } from '../types.ts';
import { embedded, inputSchema, tidy, type JsonSchema } from './json-schema.ts';
import { mqttInterface } from './mqtt.ts';
import { RESPONSE_COMPONENTS } from './schemas.ts';

export type { JsonSchema } from './json-schema.ts';
/** The document as served. Loosely typed: it is data for clients, built and checked by tests. */
export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, JsonSchema>; securitySchemes?: unknown } };

export interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface Operation {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  security: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema; example?: unknown; examples?: Record<string, { summary: string; value: unknown }> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: JsonSchema; example?: unknown }>; 'x-error-codes'?: string[] }>;
  'x-permission'?: string;
  'x-roles'?: string[];
}

/** A documented route and the module (tag) it belongs to. */
export interface TaggedRoute extends RouteDoc {
  tag: string;
}

export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token (POST /api/auth/login) or an API token (POST /api/auth/tokens) as `Authorization: Bearer TOKEN`.',
  },
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'storetwin_session',
    description: 'Set by login (HttpOnly, SameSite=Strict). Changes (not GET) authenticated by the cookie must come from this server’s own origin.',
  },
  integrationToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'An integration’s token (shown once when the integration is created), as `?token=` because platforms often cannot set headers, or as `Authorization: Bearer`. Some platforms sign instead (OneNET).',
  },
} as const;

type Security = Array<Record<string, string[]>>;
/** Alternatives: any one of them authenticates. */
const SECURITY: Record<NonNullable<RouteDoc['auth']>, Security> = {
  public: [],
  user: [{ bearerAuth: [] }, { sessionCookie: [] }],
  integration: [{ integrationToken: [] }, { bearerAuth: [] }],
};

/** `/api/devices/:device` → `/api/devices/{device}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The path parameters an Express path names, in order. */
export function pathParams(expressPath: string): string[] {
  return [...expressPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

export function collectDocs(modules: readonly ApiRouteModule[]): TaggedRoute[] {
  return modules.flatMap((m) => (m.docs ?? []).map((d) => ({ ...d, tag: m.name })));
}

/** `allOf` → "a and b", `anyOf` → "a or b". */
export function permissionText(p: RoutePermission): string {
  if (typeof p === 'string') return p;
  return 'allOf' in p ? p.allOf.join(' and ') : p.anyOf.join(' or ');
}

/** The roles that pass the route's permission check, from roles.ts. */
export function rolesFor(p: RoutePermission): string[] {
  const actions: readonly Action[] = typeof p === 'string' ? [p] : 'allOf' in p ? p.allOf : p.anyOf;
  const sets = actions.map((a) => new Set<string>(PERMISSIONS[a]));
  const roles = [...new Set(actions.flatMap((a) => PERMISSIONS[a]))];
  return typeof p !== 'string' && 'allOf' in p ? roles.filter((r) => sets.every((s) => s.has(r))) : roles;
}

/**
 * Answers may gain fields in later versions (DESIGN.md: extend compatibly), so a response schema
 * never says `additionalProperties: false`, although zod's output of a plain object would.
 */
function openEnded(ctx: { jsonSchema: JsonSchema }): void {
  if (ctx.jsonSchema.additionalProperties === false) delete ctx.jsonSchema.additionalProperties;
  tidy(ctx);
}

/** The parameters of an object schema (params or query): one per property. */
function parametersOf(schema: z.ZodType, where: 'path' | 'query', route: string): Parameter[] {
  const json = inputSchema(schema);
  const props = json.properties as Record<string, JsonSchema> | undefined;
  if (json.type !== 'object' || !props) throw new Error(`${route}: the ${where} schema must be an object`);
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      // Path parameters are always required [OpenAPI 3.1 §4.8.12.1]; a query key with a default may be left out.
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function operationId(route: RouteDoc): string {
  const words = route.path
    .replace(/^\/api\//, '/')
    .split(/[/.]/)
    .filter(Boolean)
    .map((seg) => (seg.startsWith(':') ? `by-${seg.slice(1)}` : seg));
  const camel = words
    .join('-')
    .split(/[-_]/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  return route.method + camel;
}

/** The refusals a route can answer with: its own `errors` plus those its kind always can. */
export function errorCodesOf(route: RouteDoc): ErrorCode[] {
  const codes = new Set<ErrorCode>();
  const auth = route.auth ?? 'user';
  if (route.params || route.query || route.body) codes.add('STW_ERR_VALIDATION');
  if (route.body) codes.add('STW_ERR_BODY_TOO_LARGE');
  if (auth === 'user') {
    codes.add('STW_ERR_AUTH_REQUIRED');
    codes.add('STW_ERR_TOKEN_INVALID');
  }
  if (route.permission) codes.add('STW_ERR_FORBIDDEN');
  // origin.ts: every change under /api is checked, public ones too.
  if (route.method !== 'get') codes.add('STW_ERR_ORIGIN_FORBIDDEN');
  for (const c of route.errors ?? []) codes.add(c);
  return [...codes];
}

class ResponseSchemas {
  private readonly registry = z.registry<{ id: string }>();
  private readonly ids = new Map<z.ZodType, string>();
  private inlineCount = 0;

  constructor(named: Readonly<Record<string, z.ZodType>>) {
    for (const [id, schema] of Object.entries(named)) this.add(schema, id);
  }

  private add(schema: z.ZodType, id: string): string {
    this.registry.add(schema, { id });
    this.ids.set(schema, id);
    return id;
  }

  /** A placeholder for a route's answer, resolved by `finish`. */
  refer(schema: z.ZodType): { $ref: string } {
    const id = this.ids.get(schema) ?? this.add(schema, `__inline${++this.inlineCount}`);
    return { $ref: id };
  }

  /**
   * Converts everything at once, so named schemas are `$ref`s wherever they appear; the
   * placeholders of route answers are replaced by their schemas (inlined), named ones kept.
   */
  finish(paths: OpenApiDocument['paths']): Record<string, JsonSchema> {
    const all = z.toJSONSchema(this.registry, { io: 'output', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}`, override: openEnded }).schemas as Record<string, JsonSchema>;
    const components: Record<string, JsonSchema> = {};
    for (const [id, schema] of Object.entries(all)) if (!id.startsWith('__inline')) components[id] = embedded(schema);
    for (const op of Object.values(paths).flatMap((p) => Object.values(p))) {
      for (const response of Object.values(op.responses)) {
        for (const media of Object.values(response.content ?? {})) {
          const ref = media.schema?.$ref;
          if (typeof ref !== 'string') continue;
          media.schema = ref.startsWith('__inline') ? embedded(all[ref]!) : { $ref: `#/components/schemas/${ref}` };
        }
      }
    }
    const text = JSON.stringify({ components, paths });
    // An inline schema is never nested in another: zod would have made it a $ref we cannot serve.
    if (text.includes('#/components/schemas/__inline')) throw new Error('a route answer schema is nested in another: name it in RESPONSE_COMPONENTS');
    return components;
  }
}

function operation(route: TaggedRoute, responses: ResponseSchemas): Operation {
  const where = `${route.method.toUpperCase()} ${route.path}`;
  const auth = route.auth ?? 'user';
  const parameters = [...(route.params ? parametersOf(route.params, 'path', where) : []), ...(route.query ? parametersOf(route.query, 'query', where) : [])];
  const declared = new Set(parameters.filter((p) => p.in === 'path').map((p) => p.name));
  const missing = pathParams(route.path).filter((p) => !declared.has(p));
  if (missing.length > 0) throw new Error(`${where}: path parameter ${missing.join(', ')} not in its params schema`);

  let permissionNote = '';
  const op: Operation = {
    operationId: operationId(route),
    tags: [route.tag],
    summary: route.summary,
    security: SECURITY[auth],
    responses: {},
  };
  if (route.permission) {
    op['x-permission'] = permissionText(route.permission);
    op['x-roles'] = rolesFor(route.permission);
    permissionNote = `**Permission:** \`${op['x-permission']}\` (${op['x-roles'].join(', ')}).`;
  } else if (auth === 'user') {
    permissionNote = '**Permission:** any signed-in user.';
  }
  const description = [permissionNote, route.description].filter(Boolean).join('\n\n');
  if (description) op.description = description;
  if (parameters.length > 0) op.parameters = parameters;
  if (route.body) {
    if (route.bodyExample !== undefined) {
      const check = route.body.safeParse(route.bodyExample);
      if (!check.success) throw new Error(`${where}: bodyExample does not pass the body schema: ${z.prettifyError(check.error)}`);
    }
    op.requestBody = {
      // ack and clear take an optional body: the schema itself says whether nothing is fine.
      required: !route.body.safeParse(undefined).success,
      content: { 'application/json': { schema: inputSchema(route.body), ...(route.bodyExample === undefined ? {} : { example: route.bodyExample }) } },
    };
  }
  if (route.rawBody) {
    const content: Record<string, { schema: JsonSchema; examples?: Record<string, { summary: string; value: string }> }> = {};
    for (const [i, e] of (route.rawBody.examples ?? []).entries()) {
      const media = (content[e.contentType] ??= { schema: { type: 'string', description: route.rawBody.description } });
      (media.examples ??= {})[`example${i + 1}`] = { summary: e.name, value: e.body };
    }
    if (Object.keys(content).length === 0) content['*/*'] = { schema: { description: route.rawBody.description } };
    op.requestBody = { required: route.method !== 'get', content };
  }
  for (const [status, r] of Object.entries(route.responses)) {
    const type = r.type ?? 'application/json';
    const media = { ...(r.schema ? { schema: responses.refer(r.schema) } : {}), ...(r.example === undefined ? {} : { example: r.example }) };
    op.responses[status] = { description: r.description, ...(r.schema || r.example !== undefined || r.type ? { content: { [type]: media } } : {}) };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(route)) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const listed = codes.map((c) => `\`${c}\`: ${ERRORS[c].message}`).join('; ');
    const existing = op.responses[String(status)];
    if (existing) {
      // A code answered with a success status (a push for an unknown device is 200).
      existing.description += ` — also ${listed}`;
      existing['x-error-codes'] = codes;
      continue;
    }
    op.responses[String(status)] = { description: listed, content: { 'application/json': { schema: responses.refer(RESPONSE_COMPONENTS.Error!) } }, 'x-error-codes': codes };
  }
  op.responses.default = { description: 'Any other refusal, e.g. 500 `STW_ERR_INTERNAL` (logged, never detailed)', content: { 'application/json': { schema: responses.refer(RESPONSE_COMPONENTS.Error!) } } };
  return op;
}

export interface BuildOptions {
  version: string;
}

const DESCRIPTION = `StoreTwin's HTTP API: JSON in and out under \`/api\`, bodies at most 64 kB.

**Authentication.** \`POST /api/auth/login\` answers a session token and sets the \`storetwin_session\` cookie; scripts send a token as \`Authorization: Bearer TOKEN\` — for integrations a long-lived API token from \`POST /api/auth/tokens\`. Pushes from platforms and vendor devices carry their integration's token as \`?token=\`.

**Permissions and sites.** Each route names the permission it checks and the roles that have it. A user limited to some sites sees only those: anything of another site answers 404, exactly like something that does not exist.

**Errors** are \`{"error": {"code", "message", "detail"?}}\` with a stable \`STW_ERR_…\` code and its HTTP status (the whole catalogue is in \`x-error-codes\`); invalid input is 400 \`STW_ERR_VALIDATION\` with the zod issues as \`detail\`, unknown query keys included.

**Paging.** Lists answer \`{"items", "nextCursor"}\`: pass \`nextCursor\` as \`cursor\` for the next page; null at the end.

**MQTT.** Devices publish to the embedded broker and integrations read the alarm feed there: topics, payloads and the device types' events are in \`x-mqtt\`.

The readable form of this document is at [/api/docs](/api/docs).`;

/** Builds the document. Throws (naming the route) on a doc that cannot be right. */
export function buildOpenApi(routes: readonly TaggedRoute[], opts: BuildOptions): OpenApiDocument {
  const responses = new ResponseSchemas(RESPONSE_COMPONENTS);
  const paths: OpenApiDocument['paths'] = {};
  const tags: string[] = [];
  for (const route of routes) {
    const p = openApiPath(route.path);
    paths[p] ??= {};
    if (paths[p][route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is documented twice`);
    paths[p][route.method] = operation(route, responses);
    if (!tags.includes(route.tag)) tags.push(route.tag);
  }
  const schemas = responses.finish(paths);
  return {
    openapi: '3.1.0',
    info: {
      title: 'StoreTwin API',
      version: opts.version,
      description: DESCRIPTION,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/', description: 'this server' }],
    security: SECURITY.user,
    tags: tags.map((name) => ({ name })),
    paths,
    components: { schemas, securitySchemes: SECURITY_SCHEMES },
    'x-error-codes': Object.entries(ERRORS).map(([code, e]) => ({ code, status: e.status, message: e.message })),
    'x-mqtt': mqttInterface(),
  };
}
