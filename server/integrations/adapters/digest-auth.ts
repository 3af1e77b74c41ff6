/**
 * The client side of HTTP authentication for device APIs that challenge: Axis VAPIX answers an
 * unauthenticated request with 401 and `WWW-Authenticate: Digest …` (older firmware, or a device
 * set so, with Basic). Implements RFC 7616 digest with qop=auth or the RFC 2069 form without qop,
 * algorithms MD5, SHA-256 and their -sess variants, and RFC 7617 Basic. A session keeps the last
 * challenge so later requests answer it at once (counting `nc` up, RFC 7616 §3.4) instead of
 * paying a 401 round trip per poll; a 401 to that (a nonce gone stale) takes the new challenge
 * and retries once.
 *
 * Small and local rather than a package: the digest clients on npm either wrap node-fetch/axios
 * or keep their own fetch, and this is ~150 lines checked against the RFC's own examples.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Credentials {
  username: string;
  password: string;
}

/** One challenge of a `WWW-Authenticate` header; parameter names lower-cased. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/**
 * Every challenge in a `WWW-Authenticate` value. A server may send several challenges in one
 * header, or several headers that fetch joins with ", " (RFC 9110 §11.6.1), so challenges are
 * told apart by a token that is not followed by "=". Never throws; junk yields what parsed.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const n = header.length;
  const skip = (chars: string): void => {
    while (i < n && chars.includes(header[i] as string)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TCHAR.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  while (i < n) {
    skip(' \t,');
    const name = token();
    if (name === '') {
      // A character no token may hold: nothing after it can be trusted.
      break;
    }
    skip(' \t');
    if (header[i] === '=' && current) {
      i++;
      skip(' \t');
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        value = token();
        // token68 padding (`abc==`) is not an auth-param; drop what is left of it.
        skip('=');
      }
      current.params[name.toLowerCase()] = value;
    } else if (header[i] === '=') {
      // A parameter before any scheme: skip its value.
      i++;
      skip(' \t');
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') i += header[i] === '\\' ? 2 : 1;
        i++;
      } else token();
    } else {
      current = { scheme: name, params: {} };
      out.push(current);
    }
  }
  return out;
}

type Hash = 'md5' | 'sha256';

/** The digest algorithm of a challenge (absent means MD5, RFC 7616 §3.3), or null if unsupported. */
function algorithmOf(c: Challenge): { hash: Hash; sess: boolean; name: string } | null {
  const name = c.params['algorithm'] ?? 'MD5';
  switch (name.toUpperCase()) {
    case 'MD5':
      return { hash: 'md5', sess: false, name };
    case 'MD5-SESS':
      return { hash: 'md5', sess: true, name };
    case 'SHA-256':
      return { hash: 'sha256', sess: false, name };
    case 'SHA-256-SESS':
      return { hash: 'sha256', sess: true, name };
    default:
      return null;
  }
}

/** Whether this client can answer the challenge (digest: algorithm and qop; Basic always). */
export function canAnswer(c: Challenge): boolean {
  const scheme = c.scheme.toLowerCase();
  if (scheme === 'basic') return true;
  if (scheme !== 'digest' || c.params['nonce'] === undefined || c.params['realm'] === undefined) return false;
  if (!algorithmOf(c)) return false;
  const qop = c.params['qop'];
  return qop === undefined || qopList(qop).includes('auth');
}

function qopList(qop: string): string[] {
  return qop.split(',').map((q) => q.trim().toLowerCase());
}

/**
 * The challenge to answer: the first digest one this client supports (servers list them in
 * their order of preference, RFC 7616 §3.7), else Basic, else none.
 */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme.toLowerCase() === 'digest' && canAnswer(c)) ?? challenges.find((c) => c.scheme.toLowerCase() === 'basic');
}

function h(hash: Hash, s: string): string {
  return createHash(hash).update(s, 'utf8').digest('hex');
}

/** A quoted-string (RFC 9110 §5.6.4): backslash before `"` and `\`. */
function quote(s: string): string {
  return `"${s.replace(/(["\\])/g, '\\$1')}"`;
}

export interface DigestInput {
  challenge: Challenge;
  credentials: Credentials;
  method: string;
  /** The request-target as sent: path and query (`/local/tvpc/.api?live-sum.json`). */
  uri: string;
  /** Nonce count: how many requests this client has sent with this nonce, this one included. */
  nc: number;
  cnonce: string;
}

/** The `Authorization` value answering a digest challenge (RFC 7616 §3.4), or null if unsupported. */
export function digestAuthorization(input: DigestInput): string | null {
  const { challenge, credentials, method, uri, cnonce } = input;
  if (challenge.scheme.toLowerCase() !== 'digest' || !canAnswer(challenge)) return null;
  const alg = algorithmOf(challenge);
  if (!alg) return null;
  const realm = challenge.params['realm'] ?? '';
  const nonce = challenge.params['nonce'] ?? '';
  const qop = challenge.params['qop'] !== undefined ? 'auth' : undefined;
  const nc = input.nc.toString(16).padStart(8, '0');
  let ha1 = h(alg.hash, `${credentials.username}:${realm}:${credentials.password}`);
  if (alg.sess) ha1 = h(alg.hash, `${ha1}:${nonce}:${cnonce}`);
  const ha2 = h(alg.hash, `${method}:${uri}`);
  const response = qop ? h(alg.hash, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : h(alg.hash, `${ha1}:${nonce}:${ha2}`);
  const parts = [`username=${quote(credentials.username)}`, `realm=${quote(realm)}`, `nonce=${quote(nonce)}`, `uri=${quote(uri)}`];
  // Echo the algorithm only when the server named one: RFC 2069 servers know no such parameter.
  if (challenge.params['algorithm'] !== undefined) parts.push(`algorithm=${alg.name}`);
  parts.push(`response=${quote(response)}`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  if (challenge.params['opaque'] !== undefined) parts.push(`opaque=${quote(challenge.params['opaque'])}`);
  return `Digest ${parts.join(', ')}`;
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

/**
 * Authentication state for one device: the challenge last answered and its nonce count. One per
 * connector; not shared between devices (a nonce belongs to the server that issued it).
 */
export class AuthSession {
  private challenge: Challenge | undefined;
  private nc = 0;

  constructor(private readonly credentials: Credentials | undefined) {}

  /** Whether there are credentials to answer a challenge with. */
  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** The `Authorization` value for the next request, or undefined before any challenge. */
  authorize(method: string, uri: string): string | undefined {
    if (!this.credentials || !this.challenge) return undefined;
    if (this.challenge.scheme.toLowerCase() === 'basic') return basicAuthorization(this.credentials);
    this.nc += 1;
    return digestAuthorization({ challenge: this.challenge, credentials: this.credentials, method, uri, nc: this.nc, cnonce: randomBytes(16).toString('hex') }) ?? undefined;
  }

  /** Takes a 401's `WWW-Authenticate`; true when it holds a challenge this session can answer. */
  accept(header: string | null): boolean {
    if (!this.credentials || header === null) return false;
    const picked = pickChallenge(parseChallenges(header));
    if (!picked) return false;
    this.challenge = picked;
    this.nc = 0;
    return true;
  }
}

/**
 * `fetch` with the session's authentication: sends the cached answer if there is one; on a 401
 * with a challenge it can answer, retries once with a fresh answer. The caller sees the final
 * response: a 401 from it means the credentials were refused.
 */
export async function authFetch(session: AuthSession, url: string, init: { method?: 'GET' | 'POST'; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Response> {
  const method = init.method ?? 'GET';
  const target = new URL(url);
  const uri = `${target.pathname}${target.search}`;
  const send = (authorization: string | undefined): Promise<Response> =>
    fetch(target, {
      method,
      signal: init.signal,
      redirect: 'error',
      headers: { ...init.headers, ...(authorization ? { authorization } : {}) },
    });
  const first = await send(session.authorize(method, uri));
  if (first.status !== 401 || !session.accept(first.headers.get('www-authenticate'))) return first;
  // Drain the refusal so its connection goes back to the pool.
  await first.arrayBuffer().catch(() => undefined);
  return send(session.authorize(method, uri));
}
