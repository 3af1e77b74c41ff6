/**
 * EMQX asks StoreTwin who may connect and what they may do (its HTTP authenticator and HTTP
 * authorizer, EMQX 5), and tells it who connected and disconnected (a rule's HTTP action on
 * `$events/client_connected` and `$events/client_disconnected`). The answers are the embedded
 * broker's, from the same code: login.ts for logins, policy.ts for topics.
 *
 * Answers: `{"result": "allow" | "deny", "is_superuser": false}`. Nothing StoreTwin does not
 * allow is "ignore"d: a name it does not know is denied, with the same answer as a wrong
 * password, so clients cannot probe which names exist. Accounts of other systems belong in
 * authenticators placed *before* StoreTwin's in EMQX's chain (they answer "ignore" for names
 * they do not know, and StoreTwin decides the rest). Nobody is a superuser.
 *
 * A user's connection outlives a revoked token until it reconnects (EMQX does not ask again);
 * a token with an expiry is given to EMQX as `expire_at` (EMQX ≥ 5.8 disconnects then).
 */
import { z } from 'zod';
import type { ErrorCode } from '../../errors.ts';
import type { Ingest } from '../../ingest/ingest.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { AccountStore } from '../../auth/store.ts';
import type { DeviceDirectory } from '../../registry/directory.ts';
import { publicUser } from '../../auth/users.ts';
import type { BrokerLogin } from '../login.ts';
import { publishRefusal, subscribeRefusal, type BrokerIdentity } from '../policy.ts';

/** The body template of the HTTP authenticator (README): EMQX fills the placeholders. */
export const emqxAuthenticateBody = z.looseObject({
  clientid: z.string().max(256),
  username: z.string().max(256).optional(),
  password: z.string().max(512).optional(),
});

/** The body template of the HTTP authorizer. */
export const emqxAuthorizeBody = z.looseObject({
  clientid: z.string().max(256),
  username: z.string().max(256).optional(),
  topic: z.string().min(1).max(1024),
  action: z.enum(['publish', 'subscribe']),
});

/** What a rule's HTTP action forwards of `$events/client_connected` / `client_disconnected` (SELECT *). */
export const emqxClientEvent = z.looseObject({
  event: z.string().max(64),
  clientid: z.string().max(256),
  username: z.string().max(256).nullish(),
  /** client.disconnected: why (`normal`, `keepalive_timeout`, `takenover`, `discarded`…). */
  reason: z.string().max(256).nullish(),
});

export interface EmqxVerdict {
  result: 'allow' | 'deny';
  is_superuser: false;
  /** Unix seconds after which EMQX (≥ 5.8) disconnects the client: its token's expiry. */
  expire_at?: number;
}

export const emqxVerdictSchema = z.object({
  result: z.enum(['allow', 'deny']),
  is_superuser: z.literal(false),
  expire_at: z.number().int().optional(),
});

export interface EmqxAuthDeps {
  login: BrokerLogin;
  /** Devices in memory; one not there yet (just added by the CLI) is read from the store once. */
  directory: Pick<DeviceDirectory, 'lookup'>;
  accounts: Pick<AccountStore, 'getUserByName'>;
  /** StoreTwin's own account name on the broker (the user of STORETWIN_MQTT_URL), if any. */
  serverUsername?: string | null;
  ingest: Ingest;
  logger: Logger;
  metrics: Metrics;
}

const ALLOW: EmqxVerdict = { result: 'allow', is_superuser: false };
const DENY: EmqxVerdict = { result: 'deny', is_superuser: false };

/**
 * Disconnections that are not the device going away: another connection of the same client id
 * took its place, and the new one's `client.connected` may well have arrived first.
 */
const REPLACED = new Set(['takenover', 'takeovered', 'discarded']);

export class EmqxAuth {
  private readonly log: Logger;

  constructor(private readonly deps: EmqxAuthDeps) {
    this.log = deps.logger.child({ module: 'emqx-auth' });
  }

  async authenticate(body: z.infer<typeof emqxAuthenticateBody>): Promise<EmqxVerdict> {
    const outcome = await this.deps.login.check(body.clientid, body.username, body.password);
    if (!outcome.ok) {
      this.refuse(outcome.code, outcome.message, { clientId: body.clientid, username: body.username });
      return DENY;
    }
    const expiresAt = outcome.token?.expiresAt;
    return expiresAt ? { ...ALLOW, expire_at: Math.floor(Date.parse(expiresAt) / 1000) } : ALLOW;
  }

  async authorize(body: z.infer<typeof emqxAuthorizeBody>): Promise<EmqxVerdict> {
    const identity = await this.identify(body.clientid, body.username);
    if (!identity) {
      this.refuse(body.action === 'publish' ? 'STW_ERR_MQTT_PUBLISH_DENIED' : 'STW_ERR_MQTT_SUBSCRIBE_DENIED', `"${body.username ?? ''}" (client "${body.clientid}") is no account of StoreTwin's`, { clientId: body.clientid });
      return DENY;
    }
    const code = body.action === 'publish' ? publishRefusal(identity, body.topic) : subscribeRefusal(identity, body.topic);
    if (code) {
      this.refuse(code, `may not ${body.action} "${body.topic}"`, { clientId: body.clientid, username: body.username });
      return DENY;
    }
    return ALLOW;
  }

  /** Presence from EMQX's connected/disconnected events; anything else is ignored. */
  async event(body: z.infer<typeof emqxClientEvent>): Promise<void> {
    const online = body.event === 'client.connected' ? true : body.event === 'client.disconnected' ? false : null;
    if (online === null) return;
    if (!online && body.reason && REPLACED.has(body.reason)) return;
    const identity = await this.identify(body.clientid, body.username ?? undefined);
    if (identity?.kind !== 'device') return;
    await this.deps.ingest.acceptPresence(identity.device, online);
  }

  /**
   * Who a client EMQX already authenticated is, from its user name (EMQX does not send the
   * password again): StoreTwin itself, an enabled device whose client id is its name, or a user.
   */
  private async identify(clientId: string, username: string | undefined): Promise<BrokerIdentity | null> {
    if (!username) return null;
    if (this.deps.serverUsername && username === this.deps.serverUsername) return { kind: 'server' };
    const device = await this.deps.directory.lookup(username);
    if (device) return device.enabled && clientId === username ? { kind: 'device', device } : null;
    const user = await this.deps.accounts.getUserByName(username);
    return user ? { kind: 'user', user: publicUser(user) } : null;
  }

  private refuse(code: ErrorCode, message: string, context: Record<string, unknown>): void {
    this.deps.metrics.refuse(code, 'mqtt');
    this.log.warn({ code, ...context }, message);
  }
}
