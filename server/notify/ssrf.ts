/**
 * The SSRF guard for webhook URLs. A webhook URL is written by an admin, but it is fetched by
 * the server from inside the store's network: without a guard it reaches the router's admin
 * page, a cloud metadata service (169.254.169.254) or the broker's own HTTP port.
 *
 * Refused unless allowed in `allowPrivateNetworks`: loopback, link-local, private (RFC 1918,
 * RFC 4193), CGNAT (RFC 6598), IETF protocol assignments (192.0.0.0/24), benchmarking
 * (198.18.0.0/15), unspecified, broadcast and multicast addresses, and local-use NAT64
 * (64:ff9b:1::/48). An IPv6 address that carries an IPv4 address the network delivers to
 * (mapped, compatible, SIIT-translated, NAT64, 6to4: see `embeddedIPv4`) is judged by that
 * IPv4 address, so `[::127.0.0.1]` or `[2002:7f00:1::]` is loopback while the 6to4 address of
 * a public IPv4 stays allowed. A host name is checked against every address it resolves to,
 * and the connection then goes to exactly the address that was checked (see `pinnedLookup`),
 * so DNS rebinding between the check and the connect does not help.
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { StoreTwinError } from '../errors.ts';

const FORBIDDEN_V4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890): DS-Lite, NAT64 discovery, relays
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking (RFC 2544): lab and appliance networks
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const FORBIDDEN_V6: ReadonlyArray<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128],
  // Local-use IPv4/IPv6 translation (RFC 8215): the operator chooses where the IPv4 address
  // sits (RFC 6052 allows /32 to /96), so it cannot be checked; it is local by definition.
  ['64:ff9b:1::', 48],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
];

const forbiddenV4 = new BlockList();
for (const [net, bits] of FORBIDDEN_V4) forbiddenV4.addSubnet(net, bits, 'ipv4');
const forbiddenV6 = new BlockList();
for (const [net, bits] of FORBIDDEN_V6) forbiddenV6.addSubnet(net, bits, 'ipv6');

/**
 * IPv6 forms that reach an IPv4 address, and the group where its 32 bits start. A connection
 * to one ends at that IPv4 address through the kernel (mapped), an automatic tunnel
 * (compatible, 6to4) or a translator (SIIT, NAT64): to the guard it is that IPv4 address.
 */
const EMBEDDINGS: ReadonlyArray<{ net: string; bits: number; at: number }> = [
  { net: '::ffff:0:0', bits: 96, at: 6 }, // IPv4-mapped (RFC 4291 §2.5.5.2)
  { net: '::', bits: 96, at: 6 }, // IPv4-compatible, deprecated (RFC 4291 §2.5.5.1); sit tunnels route it
  { net: '::ffff:0:0:0', bits: 96, at: 6 }, // IPv4-translated, SIIT (RFC 2765, RFC 6145)
  { net: '64:ff9b::', bits: 96, at: 6 }, // NAT64 well-known prefix (RFC 6052)
  { net: '2002::', bits: 16, at: 1 }, // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 is a.b.c.d
];
const embeddings = EMBEDDINGS.map(({ net, bits, at }) => {
  const list = new BlockList();
  list.addSubnet(net, bits, 'ipv6');
  return { list, at };
});

/** Expands an IPv6 address to its eight 16-bit groups (no zone id), or null. */
function ipv6Groups(addr: string): number[] | null {
  let text = addr.split('%')[0] ?? '';
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const b = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** `::ffff:a.b.c.d` (and its hex spelling) is IPv4 on the wire: check it as IPv4. */
export function normalizeAddress(addr: string): { address: string; family: 4 | 6 } {
  const family = isIP(addr);
  if (family === 4) return { address: addr, family: 4 };
  const g = ipv6Groups(addr);
  if (g && g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const [hi = 0, lo = 0] = [g[6], g[7]];
    return { address: `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`, family: 4 };
  }
  return { address: addr.split('%')[0] ?? addr, family: 6 };
}

/** The IPv4 address an IPv6 address reaches (see EMBEDDINGS), or null when it is plain IPv6. */
export function embeddedIPv4(addr: string): string | null {
  if (isIP(addr) !== 6) return null;
  const g = ipv6Groups(addr);
  if (!g) return null;
  const plain = g.map((x) => x.toString(16)).join(':');
  const form = embeddings.find((e) => e.list.check(plain, 'ipv6'));
  if (!form) return null;
  const [hi = 0, lo = 0] = [g[form.at], g[form.at + 1]];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** True when the address is loopback, link-local, private, reserved, unspecified or multicast. */
export function isForbiddenAddress(addr: string): boolean {
  const { address, family } = normalizeAddress(addr);
  if (family === 4) return forbiddenV4.check(address, 'ipv4');
  if (forbiddenV6.check(address, 'ipv6')) return true;
  const v4 = embeddedIPv4(address);
  return v4 !== null && forbiddenV4.check(v4, 'ipv4');
}

/** What `allowPrivateNetworks` lets through: CIDRs, single addresses and host names. */
export class AllowList {
  private readonly nets = new BlockList();
  private readonly hosts = new Set<string>();

  constructor(entries: readonly string[] = []) {
    for (const entry of entries) {
      const [addr = '', bits] = entry.split('/');
      const family = isIP(addr);
      if (family === 0) this.hosts.add(addr.toLowerCase().replace(/\.$/, ''));
      else if (bits === undefined) this.nets.addAddress(normalizeAddress(addr).address, normalizeAddress(addr).family === 4 ? 'ipv4' : 'ipv6');
      else this.nets.addSubnet(addr, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  allowsHost(host: string): boolean {
    return this.hosts.has(host.toLowerCase().replace(/\.$/, ''));
  }

  /** An address, or the IPv4 address it carries (so allowing 10.0.0.0/8 allows its 6to4 form too). */
  allowsAddress(addr: string): boolean {
    const { address, family } = normalizeAddress(addr);
    if (family === 4) return this.nets.check(address, 'ipv4') || this.nets.check(`::ffff:${address}`, 'ipv6');
    if (this.nets.check(address, 'ipv6')) return true;
    const v4 = embeddedIPv4(address);
    return v4 !== null && this.nets.check(v4, 'ipv4');
  }
}

function refuse(url: string, why: string): StoreTwinError {
  return new StoreTwinError('STW_ERR_WEBHOOK_URL_FORBIDDEN', `webhook ${redactUrl(url)}: ${why}`);
}

/**
 * A path segment that may be a credential: 8+ characters with a digit, or 20+ of any kind.
 * Slack (`/services/T…/B…/<secret>`) and Feishu (`/bot/v2/hook/<uuid>`) put the bot's secret
 * in the path, where `services`, `hook` and `v2` stay readable.
 */
const SECRET_SEGMENT = /^(?=.*\d).{8,}$|^.{20,}$/;

/**
 * URLs of chat bots carry their access token in the query (WeCom, DingTalk), the path (Slack,
 * Feishu) or the user info: never log or show it. Keeps scheme, host and the harmless path.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname
      .split('/')
      .map((seg) => (SECRET_SEGMENT.test(seg.replace(/%[0-9a-f]{2}/gi, '_')) ? '…' : seg))
      .join('/');
    return `${u.protocol}//${u.host}${path}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

export type Resolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: Resolver = (host) =>
  new Promise((done, fail) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? fail(err) : done(addresses))));

export interface CheckedTarget {
  url: URL;
  /** The addresses the connection may use (already checked). */
  addresses: Array<{ address: string; family: 4 | 6 }>;
}

/**
 * Checks a URL before it is fetched: http(s) only, and every address its host resolves to
 * must be public or allowed. Throws STW_ERR_WEBHOOK_URL_FORBIDDEN.
 */
export async function checkWebhookUrl(raw: string, allow: AllowList, resolve: Resolver = systemResolver): Promise<CheckedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse(raw, 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(raw, `protocol ${url.protocol} is not allowed`);
  if (url.username || url.password) throw refuse(raw, 'credentials in the URL are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');

  let addresses: Array<{ address: string; family: 4 | 6 }>;
  if (isIP(host) !== 0) {
    addresses = [{ address: host, family: isIP(host) as 4 | 6 }];
  } else {
    let found: Array<{ address: string; family: number }>;
    try {
      found = await resolve(host);
    } catch (err) {
      // Not a refusal: DNS may be down for a moment, so the worker retries.
      throw new Error(`cannot resolve ${host}: ${(err as Error).message}`);
    }
    if (found.length === 0) throw new Error(`cannot resolve ${host}: no addresses`);
    addresses = found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  }
  if (allow.allowsHost(host)) return { url, addresses };
  for (const a of addresses) {
    if (isForbiddenAddress(a.address) && !allow.allowsAddress(a.address)) {
      throw refuse(raw, `${host} resolves to ${a.address}, a loopback, link-local, private or multicast address (allow it in allowPrivateNetworks if intended)`);
    }
  }
  return { url, addresses };
}

/**
 * A `lookup` for http.request that answers only with the addresses checkWebhookUrl approved,
 * so the socket connects to what was checked and not to a second DNS answer.
 */
export function pinnedLookup(target: CheckedTarget): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = typeof options === 'object' && options !== null ? options.family : undefined;
    const list = target.addresses.filter((a) => !wanted || wanted === a.family || wanted === `IPv${a.family}`);
    const pick = list.length > 0 ? list : target.addresses;
    if (typeof options === 'object' && options !== null && options.all) {
      (callback as unknown as (err: null, addrs: Array<{ address: string; family: number }>) => void)(null, pick);
      return;
    }
    const first = pick[0];
    if (!first) {
      callback(new Error('no address'), '', 4);
      return;
    }
    callback(null, first.address, first.family);
  };
}
