/**
 * The live feed across workers: socket.io's Redis adapter, so that what one worker emits to a
 * room (a site's alarms, twin changes, arming) reaches the sockets in that room on every
 * worker. Each site's events are produced by the one worker that owns the site; a dashboard may
 * be connected to any worker.
 *
 * Two connections, as the adapter needs: one publishes, one subscribes. Both must answer before
 * the start goes on: a wrong URL fails the start with STW_ERR_REDIS_UNREACHABLE, never later.
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { StoreTwinError } from '../errors.ts';
import { maskUrlPassword } from '../observability/mask-url.ts';

export interface RedisFanout {
  adapter: ReturnType<typeof createAdapter>;
  close(): Promise<void>;
}

export async function openRedisFanout(url: string, opts: { connectTimeoutMs?: number } = {}): Promise<RedisFanout> {
  const options = { lazyConnect: true, connectTimeout: opts.connectTimeoutMs ?? 10_000, maxRetriesPerRequest: 3, enableOfflineQueue: true };
  const pub = new Redis(url, options);
  const sub = pub.duplicate();
  // Connection trouble after the start is reported by ioredis, which reconnects by itself;
  // without a listener an 'error' event would end the process.
  const quiet = (): void => {};
  pub.on('error', quiet);
  sub.on('error', quiet);
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (err) {
    pub.disconnect();
    sub.disconnect();
    throw new StoreTwinError('STW_ERR_REDIS_UNREACHABLE', `could not connect to Redis: ${err instanceof Error ? err.message : String(err)}`, { url: maskUrlPassword(url) });
  }
  return {
    adapter: createAdapter(pub, sub),
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
