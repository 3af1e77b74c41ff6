/**
 * The endpoints EMQX calls (server/broker/external/emqx.ts says what they answer):
 * `POST /api/broker/authenticate` (its HTTP authenticator), `POST /api/broker/authorize` (its
 * HTTP authorizer) and `POST /api/broker/events` (a rule forwarding client connected and
 * disconnected events). No user signs in here: every call carries the shared secret
 * (`broker.external.authSecret`, STORETWIN_BROKER_AUTH_SECRET) in `x-storetwin-broker-secret`,
 * compared in constant time. Without a configured secret the routes answer 404, so a server
 * that does not use EMQX exposes no login oracle.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { StoreTwinError } from '../../errors.ts';
import { emqxAuthenticateBody, emqxAuthorizeBody, emqxClientEvent, emqxVerdictSchema, type EmqxAuth } from '../../broker/external/emqx.ts';
import type { ApiRouteModule, RouteDoc } from '../types.ts';
import { parseInput } from '../validate.ts';

export const BROKER_SECRET_HEADER = 'x-storetwin-broker-secret';

const secretNote = `Called by EMQX, not by people: needs the shared secret (\`STORETWIN_BROKER_AUTH_SECRET\`) in the \`${BROKER_SECRET_HEADER}\` header; 404 while none is configured.`;
const errors = ['STW_ERR_BROKER_AUTH_DISABLED', 'STW_ERR_BROKER_AUTH_SECRET_INVALID'] as const;

const docs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/broker/authenticate',
    summary: "EMQX's HTTP authenticator: may this client connect?",
    description: `${secretNote} Devices log in as on the embedded broker (client id = username = device id, password = its secret); integrations with a user name and an API token. Anything else is \`deny\`, never \`ignore\`.`,
    auth: 'public',
    body: emqxAuthenticateBody,
    bodyExample: { clientid: 'door-2-14', username: 'door-2-14', password: 'the device secret' },
    responses: { 200: { description: 'The verdict', schema: emqxVerdictSchema, example: { result: 'allow', is_superuser: false } } },
    errors,
  },
  {
    method: 'post',
    path: '/api/broker/authorize',
    summary: "EMQX's HTTP authorizer: may this client publish or subscribe to this topic?",
    description: `${secretNote} The embedded broker's rules: a device publishes only its own up/status/snapshot topics and subscribes only to its own cmd; a user subscribes to its sites' alarm feeds.`,
    auth: 'public',
    body: emqxAuthorizeBody,
    bodyExample: { clientid: 'door-2-14', username: 'door-2-14', topic: 'storetwin/demo-hotel/door-2-14/up', action: 'publish' },
    responses: { 200: { description: 'The verdict', schema: emqxVerdictSchema, example: { result: 'deny', is_superuser: false } } },
    errors,
  },
  {
    method: 'post',
    path: '/api/broker/events',
    summary: 'EMQX client connected/disconnected events: device presence',
    description: `${secretNote} Forward \`$events/client_connected\` and \`$events/client_disconnected\` (SELECT *) with an HTTP action. A disconnection because another connection took the client id over is not the device going offline.`,
    auth: 'public',
    body: emqxClientEvent,
    bodyExample: { event: 'client.disconnected', clientid: 'door-2-14', username: 'door-2-14', reason: 'keepalive_timeout' },
    responses: { 204: { description: 'Taken' } },
    errors,
  },
];

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function brokerRoutes(deps: { emqx: EmqxAuth; secret: string | undefined }): ApiRouteModule {
  const expected = deps.secret === undefined ? null : digest(deps.secret);
  const requireSecret = (req: Request, _res: Response, next: NextFunction) => {
    if (!expected) throw new StoreTwinError('STW_ERR_BROKER_AUTH_DISABLED');
    const given = req.get(BROKER_SECRET_HEADER);
    if (given === undefined || !timingSafeEqual(digest(given), expected)) throw new StoreTwinError('STW_ERR_BROKER_AUTH_SECRET_INVALID');
    next();
  };
  return {
    name: 'broker',
    public: true,
    docs,
    register(app) {
      app.post('/api/broker/authenticate', requireSecret, async (req: Request, res: Response) => {
        const body = parseInput(emqxAuthenticateBody, req.body, 'body');
        res.json(await deps.emqx.authenticate(body));
      });
      app.post('/api/broker/authorize', requireSecret, async (req: Request, res: Response) => {
        const body = parseInput(emqxAuthorizeBody, req.body, 'body');
        res.json(await deps.emqx.authorize(body));
      });
      app.post('/api/broker/events', requireSecret, async (req: Request, res: Response) => {
        const body = parseInput(emqxClientEvent, req.body, 'body');
        await deps.emqx.event(body);
        res.status(204).end();
      });
    },
  };
}
