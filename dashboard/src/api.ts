/**
 * The REST client. The bearer token lives in sessionStorage (per tab, gone with the tab); the
 * server also sets an HttpOnly session cookie, which is what <img src="/api/snapshots/…">
 * requests carry. Any 401 drops the token and sends the user back to the login page. A password
 * change replaces the token under a running page: listeners (the live socket) follow it.
 */
import type { Alarm, Severity } from '../../server/alarms/types.ts';
import type { DeviceTypeInfo, DeviceTypesAnswer } from '../../server/api/routes/device-types.ts';
import type { AuditPage } from '../../server/audit/types.ts';
import type { TokenInfo as ServerTokenInfo } from '../../server/auth/users.ts';
import type { ExternalIdKey } from '../../server/integrations/adapters/types.ts';
import type { PublicIntegration } from '../../server/integrations/service.ts';
import type { UnknownDevice } from '../../server/integrations/store.ts';
import type { KpiFigures, KpiGroup, KpiGrouping } from '../../server/kpis/response.ts';
import type { PublicDevice } from '../../server/registry/types.ts';
import type { Localized } from '../../server/sites/model.ts';
import type { SiteState } from '../../server/twin/types.ts';
import type { LiveEvent } from '../../server/live/protocol.ts';
import type { OverviewAnswer } from '../../protocol/overview.ts';
import type { ImportAnswer, RegisteredDevice } from '../../protocol/devices.ts';
import type { FootfallSummaryResponse } from './footfall-data.ts';
import type { History } from './replay-core.ts';
import type { SiteModel } from './twin/types.ts';

const TOKEN_KEY = 'storetwin.token';

export type Role = 'admin' | 'manager' | 'operator' | 'technician';
export interface User {
  id: number;
  username: string;
  role: Role;
  sites: string[];
}
export interface Me {
  user: User;
  permissions: string[];
}
export interface SiteSummary {
  id: string;
  name: Localized;
  kind: string;
  timezone: string;
  floors: number;
  zones: number;
  devices: number;
}
export interface ZoneArming {
  zone: string;
  armed: boolean;
  source: 'manual' | 'schedule';
  by: string | null;
  until: string | null;
}
export type StoredEvent = LiveEvent & { id: string | number };
/** One entry of `GET /api/auth/tokens` (server/auth/users.ts TokenInfo), marked if it is the token this request used. */
export interface TokenInfo extends ServerTokenInfo {
  current: boolean;
}
/** `POST /api/auth/tokens`: the only answer that carries the secret. */
export interface CreatedToken {
  id: string;
  token: string;
  name: string;
  expiresAt: string | null;
}
/** `GET /api/kpis/response`: the figures as server/kpis/response.ts computes them (seconds, shares 0..1, null where nothing to measure). */
export type { KpiFigures, KpiGroup, KpiGrouping } from '../../server/kpis/response.ts';
/** `GET /api/device-types`: one device type of the catalogue, as the server route defines it. */
export type { DeviceTypeInfo } from '../../server/api/routes/device-types.ts';
export interface KpiResponse {
  site: string | null;
  from: string;
  to: string;
  asOf: string;
  by: KpiGrouping;
  targets: Record<Severity, number>;
  groups: KpiGroup[];
  total: KpiFigures;
}
export interface KpiQuery {
  site?: string;
  from: string;
  /** Default: now, by the server's clock. */
  to?: string;
  by: KpiGrouping;
}
/** `GET /api/integrations`: an integration as the server shows it (no token, secret settings masked). */
export type { PublicIntegration } from '../../server/integrations/service.ts';
/** `GET /api/integrations/adapters`: one adapter of the catalogue, its settings as JSON Schema. */
export interface AdapterInfo {
  id: string;
  label: Localized;
  delivery: 'push' | 'connector';
  externalIdKeys: ExternalIdKey[];
  secretSettings: string[];
  settingsSchema: Record<string, unknown>;
}
/** `POST /api/integrations` and `POST /api/integrations/{id}/token`: the only answers with the token. */
export interface IntegrationWithToken {
  integration: PublicIntegration;
  token: string;
  /** The full push URL with the token (push adapters); null for connectors. */
  pushUrl: string | null;
}
/** `GET /api/integrations/unknown-devices`: a device an integration heard that nobody registered. */
export type UnknownDeviceInfo = UnknownDevice & { adapter: string; site: string };
export interface DeviceInput {
  id: string;
  site: string;
  type: string;
  zone: string;
  label?: string;
  externalIds?: Partial<Record<ExternalIdKey, string>>;
}
interface SessionAnswer {
  token: string;
  user: User;
  expiresAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** What the server listed beside the code (validation issues: `[{path, message}]`). */
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

export type UnauthorizedHandler = () => void;

export class Api {
  private onUnauthorized: UnauthorizedHandler = () => undefined;
  private tokenListeners = new Set<() => void>();
  /** A password change in flight: the token it returns replaces the current one. */
  private swap: Promise<unknown> = Promise.resolve();

  constructor(private readonly base = '') {}

  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  /**
   * The token once any password change in flight has answered. The server ends the old token
   * (and the socket that used it) before the answer arrives; a reconnection must not present it.
   */
  async settledToken(): Promise<string | null> {
    await this.swap.catch(() => undefined);
    return this.token;
  }

  /** Called after the token was replaced (password change); returns the unsubscribe. */
  onTokenChange(listener: () => void): () => void {
    this.tokenListeners.add(listener);
    return () => this.tokenListeners.delete(listener);
  }

  /** Forgets the token without asking the server (it was revoked already). */
  clearToken(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  }

  setUnauthorizedHandler(handler: UnauthorizedHandler): void {
    this.onUnauthorized = handler;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    if (res.status === 204) return undefined as T;
    return (await res.json().catch(() => ({}))) as T;
  }

  /** A file the server sends (a CSV export) and the name it gave it. */
  async download(path: string): Promise<{ blob: Blob; filename: string | null }> {
    const res = await this.send('GET', path);
    const filename = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? null;
    return { blob: await res.blob(), filename };
  }

  /** The fetch with the token; a refusal becomes an ApiError (a 401 also signs out). `text` is sent as is (a CSV). */
  private async send(method: string, path: string, body?: unknown, text?: { type: string; body: string }): Promise<Response> {
    const headers: Record<string, string> = {};
    const token = this.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined || text) headers['content-type'] = text?.type ?? 'application/json';
    const res = await fetch(`${this.base}${path}`, { method, headers, body: text ? text.body : body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
    if (res.ok) return res;
    const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string; detail?: unknown } };
    const code = data.error?.code ?? `HTTP_${res.status}`;
    if (res.status === 401 && !path.startsWith('/api/auth/login')) {
      sessionStorage.removeItem(TOKEN_KEY);
      this.onUnauthorized();
    }
    throw new ApiError(res.status, code, data.error?.message ?? res.statusText, data.error?.detail);
  }

  async login(username: string, password: string): Promise<User> {
    const { token, user } = await this.request<SessionAnswer>('POST', '/api/auth/login', { username, password });
    sessionStorage.setItem(TOKEN_KEY, token);
    return user;
  }

  /** Every other session and token of the account ends; this page goes on with the new one. */
  async changePassword(currentPassword: string, newPassword: string): Promise<User> {
    const swap = this.request<SessionAnswer>('POST', '/api/auth/password', { currentPassword, newPassword }).then((answer) => {
      sessionStorage.setItem(TOKEN_KEY, answer.token);
      return answer;
    });
    this.swap = swap;
    const { user } = await swap;
    for (const l of this.tokenListeners) l();
    return user;
  }

  async tokens(): Promise<TokenInfo[]> {
    return (await this.request<{ items: TokenInfo[] }>('GET', '/api/auth/tokens')).items;
  }

  createToken(name: string, ttlDays?: number): Promise<CreatedToken> {
    return this.request('POST', '/api/auth/tokens', ttlDays === undefined ? { name } : { name, ttlDays });
  }

  revokeToken(id: string): Promise<void> {
    return this.request('DELETE', `/api/auth/tokens/${enc(id)}`);
  }

  async logout(): Promise<void> {
    try {
      await this.request<void>('POST', '/api/auth/logout');
    } finally {
      sessionStorage.removeItem(TOKEN_KEY);
    }
  }

  me(): Promise<Me> {
    return this.request('GET', '/api/me');
  }

  async sites(): Promise<SiteSummary[]> {
    return (await this.request<{ items: SiteSummary[] }>('GET', '/api/sites')).items;
  }

  site(site: string): Promise<SiteModel> {
    return this.request('GET', `/api/sites/${enc(site)}`);
  }

  state(site: string): Promise<SiteState> {
    return this.request('GET', `/api/sites/${enc(site)}/state`);
  }

  /** The device catalogue: what each type can do (how the twin draws a device follows from it). */
  async deviceTypes(): Promise<DeviceTypeInfo[]> {
    return (await this.request<DeviceTypesAnswer>('GET', '/api/device-types')).items;
  }

  async arming(site: string): Promise<ZoneArming[]> {
    return (await this.request<{ zones: ZoneArming[] }>('GET', `/api/sites/${enc(site)}/arming`)).zones;
  }

  arm(site: string, zone: string, armed: boolean): Promise<unknown> {
    return this.request('POST', `/api/sites/${enc(site)}/zones/${enc(zone)}/${armed ? 'arm' : 'disarm'}`, {});
  }

  async alarms(query: { site?: string; state?: string; severity?: string; limit?: number }): Promise<Alarm[]> {
    return (await this.request<{ items: Alarm[] }>('GET', `/api/alarms${qs(query)}`)).items;
  }

  async alarm(id: string): Promise<Alarm> {
    return (await this.request<{ alarm: Alarm }>('GET', `/api/alarms/${enc(id)}`)).alarm;
  }

  async ack(id: string, comment?: string): Promise<Alarm> {
    return (await this.request<{ alarm: Alarm }>('POST', `/api/alarms/${enc(id)}/ack`, comment ? { comment } : {})).alarm;
  }

  async clear(id: string, comment?: string): Promise<Alarm> {
    return (await this.request<{ alarm: Alarm }>('POST', `/api/alarms/${enc(id)}/clear`, comment ? { comment } : {})).alarm;
  }

  async comment(id: string, text: string): Promise<Alarm> {
    return (await this.request<{ alarm: Alarm }>('POST', `/api/alarms/${enc(id)}/comment`, { text })).alarm;
  }

  async events(query: { site: string; device?: string; zone?: string; type?: string; from?: string; to?: string; limit?: number }): Promise<StoredEvent[]> {
    return (await this.request<{ items: StoredEvent[] }>('GET', `/api/events${qs(query)}`)).items;
  }

  history(site: string, from: Date, to: Date): Promise<History> {
    return this.request('GET', `/api/sites/${enc(site)}/history${qs({ from: from.toISOString(), to: to.toISOString() })}`);
  }

  footfall(query: { site: string; zone?: string; from: string; to: string; step?: string | number }): Promise<unknown> {
    return this.request('GET', `/api/footfall${qs(query)}`);
  }

  /** `GET /api/audit`: newest first; pass `nextCursor` back for the next page. */
  audit(query: { site?: string; user?: string; action?: string; from?: string; to?: string; limit?: number; cursor?: string }): Promise<AuditPage> {
    return this.request('GET', `/api/audit${qs(query)}`);
  }

  footfallSummary(site: string): Promise<FootfallSummaryResponse> {
    return this.request('GET', `/api/sites/${enc(site)}/footfall/summary`);
  }

  async integrationAdapters(): Promise<AdapterInfo[]> {
    return (await this.request<{ items: AdapterInfo[] }>('GET', '/api/integrations/adapters')).items;
  }

  async integrations(site?: string): Promise<PublicIntegration[]> {
    return (await this.request<{ items: PublicIntegration[] }>('GET', `/api/integrations${qs({ site })}`)).items;
  }

  createIntegration(input: { adapter: string; site: string; name?: string; settings?: Record<string, unknown>; enabled?: boolean }): Promise<IntegrationWithToken> {
    return this.request('POST', '/api/integrations', input);
  }

  /** Settings merge key by key; the masked `••••••` (or leaving a secret out) keeps it. */
  async updateIntegration(id: string, patch: { name?: string; enabled?: boolean; settings?: Record<string, unknown> }): Promise<PublicIntegration> {
    return (await this.request<{ integration: PublicIntegration }>('PATCH', `/api/integrations/${enc(id)}`, patch)).integration;
  }

  /** A new token; the old one stops working at once. */
  rotateIntegrationToken(id: string): Promise<IntegrationWithToken> {
    return this.request('POST', `/api/integrations/${enc(id)}/token`, {});
  }

  deleteIntegration(id: string): Promise<void> {
    return this.request('DELETE', `/api/integrations/${enc(id)}`);
  }

  async unknownDevices(site?: string): Promise<UnknownDeviceInfo[]> {
    return (await this.request<{ items: UnknownDeviceInfo[] }>('GET', `/api/integrations/unknown-devices${qs({ site })}`)).items;
  }

  /** `POST /api/devices`: the secret (the device's MQTT password) is in this answer only. */
  registerDevice(input: DeviceInput): Promise<{ device: PublicDevice; secret: string }> {
    return this.request('POST', '/api/devices', input);
  }

  /** `GET /api/devices?site=`: every registered device of a site, page after page. */
  async siteDevices(site: string): Promise<RegisteredDevice[]> {
    const items: RegisteredDevice[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.request<{ items: RegisteredDevice[]; nextCursor: string | null }>('GET', `/api/devices${qs({ site, limit: 1000, cursor })}`);
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items;
  }

  /** `POST /api/devices/import?site=`: a CSV, all or none; the secrets are in this answer only. */
  async importDevices(site: string, csv: string): Promise<ImportAnswer> {
    const res = await this.send('POST', `/api/devices/import${qs({ site })}`, undefined, { type: 'text/csv', body: csv });
    return (await res.json()) as ImportAnswer;
  }

  /** `GET /api/overview`: every site this user may see, in one answer. */
  overview(): Promise<OverviewAnswer> {
    return this.request('GET', '/api/overview');
  }

  kpis(query: KpiQuery): Promise<KpiResponse> {
    return this.request('GET', `/api/kpis/response${qs({ ...query })}`);
  }

  /** The same figures as a CSV, headers in `lang`. */
  kpisCsv(query: KpiQuery & { lang: string }): Promise<{ blob: Blob; filename: string | null }> {
    return this.download(`/api/kpis/response.csv${qs({ ...query })}`);
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}

function qs(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}
