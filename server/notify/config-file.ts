/**
 * `<dataDir>/notify.yaml`, live: read at start (an invalid file stops the start, like any
 * config), then watched and reloaded like the rule files (server/rules/store.ts): after a change
 * settles (editors write in several steps) the file is validated as a whole; a valid file
 * replaces the routes, the channels' settings and the escalation policies from then on, a
 * broken one is logged with every problem and the routes in force stay. Removing the file is a
 * valid change: no routes (only the dashboard hears about alarms).
 *
 * The data directory is watched rather than the file: the file may not exist yet, and an editor
 * that saves by renaming a new file over the old one would leave a watch on the file blind.
 * Only events naming notify.yaml start a reload; the database's own writes are ignored.
 */
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.ts';
import { loadNotifyConfig, type NotifyConfig, type Route } from './config.ts';
import { redactUrl } from './ssrf.ts';

export const NOTIFY_FILE = 'notify.yaml';

export interface NotifyConfigFileOptions {
  dataDir: string;
  logger: Logger;
  /** false: no watching (reload() by hand). */
  watch?: boolean;
  /** Quiet time after the last change before reloading (default 200 ms, as for rule files). */
  debounceMs?: number;
  now?: () => number;
}

/** A route as the start-up log and `GET /api/notify/routes` show it: never a URL's secret. */
export interface RouteSummary {
  id: string;
  /** The site id, or '*' for the routes every site hears from. */
  site: string;
  channel: Route['channel'];
  /** Webhook preset; null for email. */
  preset: string | null;
  severities: string[];
  /** On-call windows in site-local time; null = always. */
  hours: Route['hours'] | null;
  language: Route['language'];
  /** Webhook URL without query, user info or secret-looking path segments; email: the addresses. */
  target: string;
}

export function routeTarget(route: Route): string {
  return route.channel === 'webhook' ? redactUrl(route.url) : route.to.join(', ');
}

/** Every route of the config, by site key in file order ('*' first). */
export function routeSummaries(config: NotifyConfig): RouteSummary[] {
  const keys = Object.keys(config.data.sites).sort((a, b) => (a === '*' ? -1 : b === '*' ? 1 : 0));
  return keys.flatMap((site) =>
    (config.data.sites[site]?.routes ?? []).map((r) => ({
      id: r.id,
      site,
      channel: r.channel,
      preset: r.channel === 'webhook' ? r.preset : null,
      severities: [...r.severities],
      hours: r.hours ?? null,
      language: r.language,
      target: routeTarget(r),
    })),
  );
}

export class NotifyConfigFile {
  readonly file: string;
  private config: NotifyConfig;
  private loaded: number;
  private refused: { at: number; message: string } | null = null;
  private readonly listeners = new Set<(config: NotifyConfig) => void>();
  private readonly log: Logger;
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private reloading: Promise<boolean> | null = null;

  private constructor(
    private readonly opts: NotifyConfigFileOptions,
    config: NotifyConfig,
  ) {
    this.file = join(opts.dataDir, NOTIFY_FILE);
    this.config = config;
    this.loaded = this.now();
    this.log = opts.logger.child({ module: 'notify.config' });
  }

  /** Reads the file once; throws STW_ERR_NOTIFY_CONFIG_INVALID listing every problem. */
  static async load(opts: NotifyConfigFileOptions): Promise<NotifyConfigFile> {
    return new NotifyConfigFile(opts, await loadNotifyConfig(opts.dataDir));
  }

  /** The config in force. */
  get current(): NotifyConfig {
    return this.config;
  }

  /** When the config in force was read (Unix ms). */
  get loadedAt(): number {
    return this.loaded;
  }

  /** The last edit that was refused since, and why; null once a valid file is loaded. */
  get rejected(): { at: number; message: string } | null {
    return this.refused;
  }

  /** Called with the new config after each successful reload. */
  onChange(listener: (config: NotifyConfig) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Logs the routes in force (and where links in messages point) and starts watching. */
  start(opts: { publicUrl?: string } = {}): void {
    if (opts.publicUrl) {
      this.log.info({ publicUrl: opts.publicUrl }, `links in notifications point to ${opts.publicUrl}`);
    } else {
      this.log.warn(
        'publicUrl is not set: links in notification messages (the alarm, its picture) will be relative, and chat apps cannot open them. ' +
          'Set STORETWIN_PUBLIC_URL=https://your.host (or publicUrl in the config file) to the address people reach StoreTwin at.',
      );
    }
    this.logRoutes('notification routes in force');
    if (this.opts.watch === false || this.watcher) return;
    try {
      this.watcher = watch(this.opts.dataDir, (_event, name) => {
        // Some platforms do not name the file; then any change may be ours.
        if (name === null || name === NOTIFY_FILE) this.scheduleReload();
      });
      this.watcher.on('error', (err) => this.log.warn({ err, dir: this.opts.dataDir }, 'data directory watch failed: notify.yaml edits need a restart'));
    } catch (err) {
      this.log.warn({ err, dir: this.opts.dataDir }, 'cannot watch the data directory: notify.yaml edits need a restart');
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
  }

  /**
   * Reads the file again now: true when it replaced the config in force, false when it was
   * refused (logged with every problem; the config in force stays). Serialised.
   */
  reload(): Promise<boolean> {
    const run = (this.reloading ?? Promise.resolve(true)).then(() => this.read());
    this.reloading = run;
    return run;
  }

  private async read(): Promise<boolean> {
    let next: NotifyConfig;
    try {
      next = await loadNotifyConfig(this.opts.dataDir);
    } catch (err) {
      const message = (err as Error).message;
      this.refused = { at: this.now(), message };
      this.log.error({ file: this.file, problems: message }, `${this.file} was not reloaded; the routes in force stay. ${message}`);
      return false;
    }
    this.config = next;
    this.loaded = this.now();
    this.refused = null;
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (err) {
        this.log.error({ err }, 'a notify config listener failed');
      }
    }
    this.logRoutes('notify.yaml reloaded');
    return true;
  }

  private logRoutes(what: string): void {
    const routes = routeSummaries(this.config).map((r) => ({ id: r.id, site: r.site, channel: r.preset ?? r.channel, severities: r.severities, target: r.target }));
    if (routes.length === 0) {
      this.log.info({ file: this.file, routes }, `${what}: none, only the dashboard hears about alarms (routes are set in ${this.file})`);
      return;
    }
    const list = routes.map((r) => `${r.site}/${r.id} (${r.channel} → ${r.target}; ${r.severities.join(', ')})`);
    this.log.info({ file: this.file, routes }, `${what}: ${routes.length} route(s): ${list.join('; ')}`);
  }

  private scheduleReload(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.reload().catch((err: unknown) => this.log.error({ err }, 'notify.yaml reload failed'));
    }, this.opts.debounceMs ?? 200);
    this.debounce.unref();
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}
