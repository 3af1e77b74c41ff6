/**
 * A server's URL as messages and logs may show it: the password replaced by `***`, everything
 * else kept (PostgreSQL, InfluxDB, Redis). A text that is not a URL shows as `(unparseable URL)`.
 */
export function maskUrlPassword(url: string | URL): string {
  try {
    const copy = new URL(typeof url === 'string' ? url : url.href);
    if (copy.password !== '') copy.password = '***';
    return copy.href;
  } catch {
    return '(unparseable URL)';
  }
}
