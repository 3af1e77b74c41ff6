/**
 * The docs of the push endpoints (`POST|GET /api/ingest/{adapter}`), ready for the route module
 * that registers them to use as its `docs`:
 *
 *     export const ingestRoutes = (…): ApiRouteModule => ({ name: 'ingest', public: true, docs: ingestDocs(), register… });
 *
 * The adapters and their example pushes come from the adapter catalogue
 * (server/integrations/adapters/index.ts), so a new adapter shows up here by itself.
 */
import { z } from 'zod';
import { adapters as catalogue } from '../../integrations/adapters/index.ts';
import type { Adapter } from '../../integrations/adapters/types.ts';
import type { RawBodyExample, RouteDoc } from '../types.ts';

/** The path parameter: which adapter; an unknown one answers 404 STW_ERR_ADAPTER_UNKNOWN (counted), not 400. */
export const ingestParams = z.object({ adapter: z.string().min(1).max(40) });

/** What a push answers when it was taken (whatever happened to each message in it). */
export const pushAnswerSchema = z.object({
  accepted: z.number().int().describe('messages that reached the twin'),
  duplicates: z.number().int().describe('retransmissions dropped (same packet for the same device)'),
  unknown: z.number().int().describe('messages naming no registered device: listed for admins, ready to register'),
  ignored: z.number().int().describe('valid messages that carry nothing StoreTwin uses'),
  refused: z.number().int().describe('messages refused one by one (a frame the codec refused…)'),
  problems: z.array(z.object({ code: z.string(), message: z.string() })).describe('the first ten refusals'),
  note: z.string().optional(),
});

/** The longest example body shown; pushes with pictures are hundreds of kB. */
const MAX_EXAMPLE_CHARS = 4000;

function exampleBody(body: Buffer): string {
  const text = body.toString('utf8');
  // Binary (a JPEG part): show what it is, not mojibake.
  if (body.includes(0) || !Buffer.from(text, 'utf8').equals(body)) return `(binary, ${body.length} bytes)`;
  return text.length > MAX_EXAMPLE_CHARS ? `${text.slice(0, MAX_EXAMPLE_CHARS)}\n… (${text.length} characters)` : text;
}

function examplesOf(push: readonly Adapter<unknown>[], method: 'GET' | 'POST'): RawBodyExample[] {
  return push.flatMap((a) =>
    a.examples
      .filter((e) => e.request.method === method)
      .map((e) => ({
        name: `${a.id}: ${e.name}`,
        contentType: e.request.contentType.split(';')[0]!.trim() || 'application/octet-stream',
        body: method === 'GET' ? new URLSearchParams(e.request.query as Record<string, string>).toString() : exampleBody(e.request.body),
      })),
  );
}

export function ingestDocs(adapters: readonly Adapter<unknown>[] = catalogue): RouteDoc[] {
  const push = adapters.filter((a) => a.delivery === 'push');
  const names = push.length > 0 ? push.map((a) => `\`${a.id}\` (${a.label.en})`).join(', ') : 'none installed';
  const common = `Authenticated by the integration’s token (\`POST /api/integrations\` shows it once) as \`?token=\` — platforms often cannot set headers — or \`Authorization: Bearer\`; a platform that signs its pushes (OneNET) is verified against its own token too. Rate-limited and size-limited per integration. Push adapters: ${names}. A message names its device by the platform’s id, matched against the devices’ \`externalIds\`.`;
  const errors = [
    'STW_ERR_ADAPTER_UNKNOWN',
    'STW_ERR_INTEGRATION_TOKEN_INVALID',
    'STW_ERR_INTEGRATION_DISABLED',
    'STW_ERR_INTEGRATION_RATE_LIMITED',
    'STW_ERR_PUSH_TOO_LARGE',
    'STW_ERR_PUSH_MALFORMED',
    'STW_ERR_PUSH_SCHEMA',
    'STW_ERR_PUSH_SIGNATURE',
  ] as const;
  const getExamples = examplesOf(push, 'GET');
  return [
    {
      method: 'post',
      path: '/api/ingest/:adapter',
      auth: 'integration',
      summary: 'A push from a carrier platform or a vendor device',
      description: `${common}\n\nThe body is the platform’s own format, taken as raw bytes (JSON, XML, or multipart with a picture). A push that was taken answers 200 with what became of each message, even when some were refused one by one (a message naming no registered device is counted in \`unknown\`, \`STW_ERR_PUSH_DEVICE_UNKNOWN\` in \`problems\`): a platform retries what it did not get a 200 for.`,
      params: ingestParams,
      rawBody: { description: 'the platform’s message as it sends it', examples: examplesOf(push, 'POST') },
      responses: { 200: { description: 'Taken', schema: pushAnswerSchema, example: { accepted: 1, duplicates: 0, unknown: 0, ignored: 0, refused: 0, problems: [] } } },
      errors,
    },
    {
      method: 'get',
      path: '/api/ingest/:adapter',
      auth: 'integration',
      summary: 'A platform’s URL verification (OneNET: ?msg=&signature=&nonce=)',
      description: `${common}\n\nPlatforms that check a push URL before using it call it with GET; the adapter answers what the platform expects (OneNET: the \`msg\` echoed as text).${getExamples.length > 0 ? `\n\nExamples: ${getExamples.map((e) => `${e.name} \`?${e.body}\``).join('; ')}` : ''}`,
      params: ingestParams,
      responses: { 200: { description: 'What the platform expects, e.g. the echoed `msg`', type: 'text/plain' } },
      errors,
    },
  ];
}
