/**
 * STORETWIN_INFLUX_URL: `http(s)://[user:pass@]host[:port]/DB`, the path naming the database
 * (InfluxDB 1.x, or the v1-compatible API of 2.x). Credentials may also come from the options
 * (so they need not sit in a URL); the URL's win. Without a port, http means InfluxDB's 8086
 * and https 443 (the URL parser cannot tell `https://host/` from `https://host:443/`). What is
 * logged or put in errors is the URL without its password.
 */
import { maskUrlPassword } from '../../observability/mask-url.ts';
import { StoreTwinError } from '../../errors.ts';

export interface InfluxTarget {
  protocol: 'http' | 'https';
  host: string;
  port: number;
  database: string;
  username?: string;
  password?: string;
  /** The URL with the password masked: safe for logs and error details. */
  safeUrl: string;
}

export interface InfluxCredentials {
  username?: string;
  password?: string;
}

const INFLUX_PORT = 8086;
const HTTPS_PORT = 443;

function invalid(reason: string, safeUrl: string): StoreTwinError {
  return new StoreTwinError('STW_ERR_CONFIG_INVALID', `STORETWIN_INFLUX_URL ${reason}: expected http://user:pass@host:8086/DB`, { url: safeUrl });
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw invalid('is not a URL', '(unparseable)');
  }
}

/** Throws STW_ERR_CONFIG_INVALID for anything but an http(s) URL whose path is one database name. */
export function parseInfluxUrl(text: string, credentials: InfluxCredentials = {}): InfluxTarget {
  const url = parseUrl(text);
  const safeUrl = maskUrlPassword(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`has protocol ${url.protocol} (http or https only)`, safeUrl);
  if (url.search !== '' || url.hash !== '') throw invalid('has a query or fragment', safeUrl);
  const segments = url.pathname.split('/').filter((s) => s !== '');
  if (segments.length !== 1) throw invalid('must name exactly one database as its path', safeUrl);
  const database = decodeURIComponent(segments[0] as string);
  const username = url.username !== '' ? decodeURIComponent(url.username) : credentials.username;
  const password = url.password !== '' ? decodeURIComponent(url.password) : credentials.password;
  const https = url.protocol === 'https:';
  return {
    protocol: https ? 'https' : 'http',
    host: url.hostname,
    port: url.port !== '' ? Number(url.port) : https ? HTTPS_PORT : INFLUX_PORT,
    database,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    safeUrl,
  };
}
