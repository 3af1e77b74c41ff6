/**
 * The influx client's failures as coded errors. Writes that fail are STW_ERR_STORAGE_FAILED
 * (ingest then does not acknowledge, and the device resends); a server that cannot be reached,
 * refuses the credentials or fails a query is STW_ERR_STORAGE_UNAVAILABLE. The message says
 * which, with InfluxDB's own reason; the detail names the server without its password.
 */
import { StoreTwinError } from '../../errors.ts';

export type InfluxAction = 'start' | 'write' | 'query';

/** The HTTP status the client saw, when InfluxDB answered at all (its RequestError has `res`). */
function statusOf(err: unknown): number | undefined {
  const res = (err as { res?: { statusCode?: unknown } } | null)?.res;
  return typeof res?.statusCode === 'number' ? res.statusCode : undefined;
}

function reasonOf(err: unknown): string {
  const status = statusOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (status === 401 || status === 403) return `InfluxDB refused the credentials (${status})`;
  if (status !== undefined) return `InfluxDB answered ${status}: ${message.replace(/^A \d+ [^:]*: /, '').trim()}`;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? `cannot reach InfluxDB (${code})` : message;
}

export function influxError(err: unknown, action: InfluxAction, safeUrl: string): StoreTwinError {
  if (err instanceof StoreTwinError) return err;
  const reason = reasonOf(err);
  if (action === 'write') return new StoreTwinError('STW_ERR_STORAGE_FAILED', `InfluxDB did not store the batch: ${reason}`, { url: safeUrl });
  const doing = action === 'start' ? 'start the InfluxDB event store' : 'read events from InfluxDB';
  return new StoreTwinError('STW_ERR_STORAGE_UNAVAILABLE', `could not ${doing}: ${reason}`, { url: safeUrl });
}

/** Runs `work`, turning whatever the client throws into a coded error. */
export async function coded<T>(action: InfluxAction, safeUrl: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw influxError(err, action, safeUrl);
  }
}
