/**
 * Keeps Mosquitto's password_file and acl_file in step with StoreTwin's registry and asks
 * Mosquitto to reload them (SIGHUP to the pid in its pid_file).
 *
 * Accounts: StoreTwin's own (the user and password of STORETWIN_MQTT_URL); every enabled device
 * whose current secret has a recorded `$7$` line (password-store.ts); every user whose role may
 * read alarms and who holds an unexpired API token with a recorded line (the newest one: a
 * password file has one line per name). Grants come from policy.ts.
 *
 * When: at start, soon after every device change announced on the bus, and every `pollMs` to
 * catch what the bus does not carry (the CLI adding a device from another process, API tokens
 * issued or revoked, users changed). Unchanged content is neither written nor signalled. A
 * failure is logged and counted (STW_ERR_MOSQUITTO_FILES_FAILED) and retried at the next turn;
 * only the first write, at start, is allowed to stop the server.
 */
import { readFile } from 'node:fs/promises';
import { can } from '../../auth/roles.ts';
import { publicUser } from '../../auth/users.ts';
import type { Config } from '../../config.ts';
import { StoreTwinError } from '../../errors.ts';
import type { EventBus } from '../../events.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { AccountStore } from '../../auth/store.ts';
import type { DeviceLookup } from '../../registry/directory.ts';
import type { SessionRecord } from '../../storage/types.ts';
import { grantsOf } from '../policy.ts';
import { renderAclFile, renderPasswordFile, writeFileAtomically, type MosquittoAccount } from './mosquitto-files.ts';
import { mosquittoPasswordHash } from './mosquitto-passwd.ts';
import type { BrokerPassword, BrokerPasswordStore } from './password-store.ts';

export interface MosquittoSyncDeps {
  files: NonNullable<Config['broker']['external']['mosquitto']>;
  /** StoreTwin's own account on the broker. */
  serverAccount: { username: string; password: string };
  /** The devices, in memory (the directory follows changes made by other processes). */
  directory: Pick<DeviceLookup, 'allDevices' | 'getDevice'>;
  accounts: Pick<AccountStore, 'listUsers' | 'listSessions'>;
  passwords: BrokerPasswordStore;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  pollMs?: number;
  now?: () => number;
}

/** Lines that match no current credential are removed after this long (see password-store.ts). */
const PRUNE_GRACE_MS = 3600_000;
/** Bus events arriving together (a site's devices seeded at once) make one rewrite. */
const DEBOUNCE_MS = 50;

export interface SyncSummary {
  devices: number;
  users: number;
  /** Enabled devices without a recorded line: their secret must be rotated to reach Mosquitto. */
  devicesWithoutLine: string[];
  written: boolean;
}

export class MosquittoSync {
  private readonly log: Logger;
  private readonly serverHash: string;
  private lastPasswords: string | null = null;
  private lastAcl: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private readonly warnedMissing = new Set<string>();
  /** Files were rewritten but Mosquitto not yet told: retried at the next turn. */
  private reloadPending = false;
  private warnedNoPidFile = false;
  private readonly onDeviceChange = () => this.schedule();

  constructor(private readonly deps: MosquittoSyncDeps) {
    this.log = deps.logger.child({ module: 'mosquitto-sync' });
    this.serverHash = mosquittoPasswordHash(deps.serverAccount.password);
  }

  /** Writes the files once (a failure here is the server's failure to start), then keeps them current. */
  async start(): Promise<void> {
    try {
      await this.sync();
    } catch (err) {
      // Mosquitto may not run yet (it reads the files when it starts); connecting to it, next,
      // says whether it does. Files that cannot be written are this server's failure.
      if (!(err instanceof ReloadFailed)) throw new StoreTwinError('STW_ERR_MOSQUITTO_FILES_FAILED', `Mosquitto files not written: ${(err as Error).message}`);
      this.log.warn({ code: 'STW_ERR_MOSQUITTO_FILES_FAILED', err: err.message }, 'Mosquitto files written but Mosquitto not told to reload them');
    }
    for (const e of ['device.registered', 'device.updated', 'device.removed'] as const) this.deps.bus.on(e, this.onDeviceChange);
    this.poller = setInterval(() => this.schedule(0), this.deps.pollMs ?? 5000);
    this.poller.unref();
  }

  async stop(): Promise<void> {
    for (const e of ['device.registered', 'device.updated', 'device.removed'] as const) this.deps.bus.off(e, this.onDeviceChange);
    if (this.poller) clearInterval(this.poller);
    if (this.timer) clearTimeout(this.timer);
    this.poller = null;
    this.timer = null;
    await this.running;
  }

  /** Renders, and when anything changed writes both files and signals Mosquitto. One at a time. */
  sync(): Promise<SyncSummary> {
    const next = this.running.then(() => this.syncNow());
    this.running = next.catch(() => undefined);
    return next;
  }

  private schedule(delayMs = DEBOUNCE_MS): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sync().catch((err: unknown) => {
        this.deps.metrics.refuse('STW_ERR_MOSQUITTO_FILES_FAILED', 'mqtt');
        this.log.error({ err, code: 'STW_ERR_MOSQUITTO_FILES_FAILED' }, 'Mosquitto files not updated (retried at the next change)');
      });
    }, delayMs);
    this.timer.unref();
  }

  private async syncNow(): Promise<SyncSummary> {
    const { accounts, summary, stale } = await this.accounts();
    const passwords = renderPasswordFile(accounts);
    const acl = renderAclFile(accounts);
    if (passwords === this.lastPasswords && acl === this.lastAcl) {
      if (this.reloadPending) await this.reload();
      return summary;
    }
    await writeFileAtomically(this.deps.files.aclFile, acl);
    await writeFileAtomically(this.deps.files.passwordFile, passwords);
    this.lastPasswords = passwords;
    this.lastAcl = acl;
    this.reloadPending = true;
    await this.reload();
    const pruned = await this.deps.passwords.prune(stale, PRUNE_GRACE_MS);
    for (const id of summary.devicesWithoutLine.filter((d) => !this.warnedMissing.has(d))) {
      this.warnedMissing.add(id);
      this.log.warn({ device: id }, 'device has no Mosquitto password line (its secret was issued before StoreTwin recorded them): rotate its secret to let it connect');
    }
    this.log.info({ devices: summary.devices, users: summary.users, pruned }, 'Mosquitto password and ACL files written');
    return { ...summary, written: true };
  }

  private async accounts(): Promise<{ accounts: MosquittoAccount[]; summary: SyncSummary; stale: BrokerPassword[] }> {
    const { directory } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    const byUser = new Map<string, BrokerPassword[]>();
    for (const p of await this.deps.passwords.list()) byUser.set(p.username, [...(byUser.get(p.username) ?? []), p]);
    // Every account's sessions and tokens by hash, read once (accounts are few).
    const userRecords = await this.deps.accounts.listUsers();
    const sessions = new Map<string, SessionRecord>();
    for (const u of userRecords) for (const s of await this.deps.accounts.listSessions(u.id)) sessions.set(s.tokenHash, s);
    const used = new Set<BrokerPassword>();
    const pick = (username: string, current: (p: BrokerPassword) => boolean): BrokerPassword | undefined => {
      const found = (byUser.get(username) ?? []).find(current);
      if (found) used.add(found);
      return found;
    };

    const { username: serverName } = this.deps.serverAccount;
    const accounts: MosquittoAccount[] = [{ username: serverName, passwordHash: this.serverHash, grants: grantsOf({ kind: 'server' }), comment: 'StoreTwin itself (STORETWIN_MQTT_URL)' }];
    const devicesWithoutLine: string[] = [];
    let devices = 0;
    for (const device of directory.allDevices()) {
      if (!device.enabled || device.id === serverName) continue;
      const line = pick(device.id, (p) => p.verifier === device.secretHash);
      if (!line) {
        devicesWithoutLine.push(device.id);
        continue;
      }
      devices++;
      accounts.push({ username: device.id, passwordHash: line.hash, grants: grantsOf({ kind: 'device', device }), comment: `device ${device.id} (${device.type}) in ${device.site}` });
    }
    let users = 0;
    const deviceIds = new Set(accounts.map((a) => a.username));
    for (const rec of userRecords) {
      const user = publicUser(rec);
      if (!can(user.role, 'alarms:read') || deviceIds.has(user.username)) continue;
      const line = pick(user.username, (p) => {
        const s = sessions.get(p.verifier);
        return s !== undefined && s.kind === 'api' && s.userId === user.id && (s.expiresAt === null || Date.parse(s.expiresAt) > now);
      });
      if (!line) continue;
      users++;
      accounts.push({ username: user.username, passwordHash: line.hash, grants: grantsOf({ kind: 'user', user }), comment: `user ${user.username} (${user.role}): the alarm feed of ${user.sites.length === 0 ? 'every site' : user.sites.join(', ')}` });
    }
    const stale = [...byUser.values()].flat().filter((p) => !used.has(p) && !this.stillValid(p, now, sessions));
    return { accounts, summary: { devices, users, devicesWithoutLine, written: false }, stale };
  }

  /** A line not used now but matching a current credential (a user's older API token) is kept. */
  private stillValid(p: BrokerPassword, now: number, sessions: ReadonlyMap<string, SessionRecord>): boolean {
    const device = this.deps.directory.getDevice(p.username);
    if (device?.secretHash === p.verifier) return true;
    const s = sessions.get(p.verifier);
    return s !== undefined && (s.expiresAt === null || Date.parse(s.expiresAt) > now);
  }

  /** SIGHUP makes Mosquitto reread both files and apply them to connected clients too. */
  private async reload(): Promise<void> {
    const { pidFile } = this.deps.files;
    if (!pidFile) {
      this.reloadPending = false;
      if (!this.warnedNoPidFile) this.log.warn('no Mosquitto pid file configured (broker.external.mosquitto.pidFile): Mosquitto reads the new files only when it is reloaded by other means');
      this.warnedNoPidFile = true;
      return;
    }
    try {
      const text = (await readFile(pidFile, 'utf8')).trim();
      const pid = Number(text);
      if (!Number.isInteger(pid) || pid <= 1) throw new Error(`pid file ${pidFile} does not hold a process id ("${text.slice(0, 20)}")`);
      process.kill(pid, 'SIGHUP');
      this.reloadPending = false;
    } catch (err) {
      throw new ReloadFailed(`Mosquitto not signalled to reload (pid file ${pidFile}): ${(err as Error).message}`);
    }
  }
}

class ReloadFailed extends Error {}
