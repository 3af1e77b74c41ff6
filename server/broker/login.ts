/**
 * Who a broker login is, whichever broker asks: the embedded broker's authenticate hook and
 * EMQX's HTTP authenticator (external/emqx.ts) both come here, so a device that may connect to
 * one may connect to the other and nothing else may.
 * - A user (an integration reading the alarm feed) is recognised by its token, not its name: a
 *   device registered under the same name cannot lock it out. Its client id must not be a
 *   device's id (the broker would drop the device's connection for it: a takeover).
 * - A device: client id = username = a registered device id, password = its secret, checked
 *   first and from memory (no store read); a verified secret is cached by hash, so a reconnect
 *   storm costs one digest per device; a secret still stored as scrypt is re-hashed at its first
 *   login.
 * - StoreTwin's own account on an external broker (the user and password of STORETWIN_MQTT_URL).
 * Every wrong name or password is the same refusal (CONNACK 4), whether the name is a user, a
 * device or nothing, so names cannot be probed; only the holder of the secret learns that the
 * device is disabled (5) or its client id wrong (2).
 */
import { timingSafeEqual } from 'node:crypto';
import { can } from '../auth/roles.ts';
import { hashMachineSecret, isLegacyMachineHash, sha256Hex, verifySecret } from '../auth/secrets.ts';
import type { AuthenticatedToken } from '../auth/users.ts';
import type { ErrorCode } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { DeviceDirectory } from '../registry/directory.ts';
import type { DeviceRecord } from '../storage/types.ts';
import type { BrokerIdentity } from './policy.ts';

/** CONNACK return codes of MQTT 3.1.1 (3.2.2.3). */
export const CONNACK = { IDENTIFIER_REJECTED: 2, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

export type LoginOutcome =
  | { ok: true; identity: BrokerIdentity; /** A user's token (connections end when it is revoked). */ token?: AuthenticatedToken }
  | { ok: false; code: ErrorCode; returnCode: number; message: string };

export interface BrokerLoginDeps {
  /**
   * The device directory (in memory): a device not in it yet — added by the CLI beside a
   * running server — is read from the store once, at its CONNECT.
   */
  directory: Pick<DeviceDirectory, 'getDevice' | 'lookup'>;
  /** Stores a re-hashed legacy secret (DeviceService.rehashSecret keeps the directory fresh). */
  rehash?: (id: string, secretHash: string) => Promise<DeviceRecord | null>;
  /** Where a rehash the store refused is logged (the device is let in all the same). */
  logger?: Logger;
  users?: { authenticateToken(token: string): Promise<AuthenticatedToken | null> };
  /** StoreTwin's own account on an external broker, when there is one. */
  serverAccount?: { username: string; password: string } | null;
}

export class BrokerLogin {
  /** device id → `${secretHash}:${sha256(password)}` of the last verified login. */
  private readonly verified = new Map<string, string>();

  constructor(private readonly deps: BrokerLoginDeps) {}

  async check(clientId: string, username: string | undefined, password: string | undefined): Promise<LoginOutcome> {
    const deny = (code: ErrorCode, returnCode: number, message: string): LoginOutcome => ({ ok: false, code, returnCode, message });
    if (!username || !password) return deny('STW_ERR_MQTT_BAD_CREDENTIALS', CONNACK.BAD_USERNAME_OR_PASSWORD, 'username and password are required');

    const server = this.deps.serverAccount;
    if (server && username === server.username) {
      return equalSecrets(password, server.password) ? { ok: true, identity: { kind: 'server' } } : deny('STW_ERR_MQTT_BAD_CREDENTIALS', CONNACK.BAD_USERNAME_OR_PASSWORD, `wrong password for "${username}"`);
    }

    // A device's secret first, from memory: a reconnect storm is thousands of device logins,
    // and each used to cost a token lookup in the store. A user's token is never a device's
    // secret (both are 256 random bits), so a user named like a device still gets in below.
    const known = this.deps.directory.getDevice(username);
    const admitted = known ? await this.verifiedDevice(known, password) : null;
    if (admitted) return this.deviceOutcome(admitted, clientId, username);

    const asUser = await this.deps.users?.authenticateToken(password);
    if (asUser && asUser.user.username.toLowerCase() === username.toLowerCase()) {
      if (!can(asUser.user.role, 'alarms:read')) return deny('STW_ERR_MQTT_SUBSCRIBE_DENIED', CONNACK.NOT_AUTHORIZED, `role ${asUser.user.role} may not read alarms`);
      if (this.deps.directory.getDevice(clientId)) return deny('STW_ERR_MQTT_CLIENT_ID_RESERVED', CONNACK.IDENTIFIER_REJECTED, `client id "${clientId}" is a device's id`);
      return { ok: true, identity: { kind: 'user', user: asUser.user }, token: asUser };
    }

    // A device not in memory yet (added by the CLI beside a running server) is read once.
    const device = known ?? (await this.deps.directory.lookup(username));
    if (!device) return deny('STW_ERR_MQTT_UNKNOWN_DEVICE', CONNACK.BAD_USERNAME_OR_PASSWORD, `no device "${username}" (or a wrong token for a user of that name)`);
    const current = known ? null : await this.verifiedDevice(device, password);
    if (!current) return deny('STW_ERR_MQTT_BAD_CREDENTIALS', CONNACK.BAD_USERNAME_OR_PASSWORD, `wrong secret for "${username}"`);
    return this.deviceOutcome(current, clientId, username);
  }

  private deviceOutcome(device: DeviceRecord, clientId: string, username: string): LoginOutcome {
    if (!device.enabled) return { ok: false, code: 'STW_ERR_MQTT_DEVICE_DISABLED', returnCode: CONNACK.NOT_AUTHORIZED, message: `device "${username}" is disabled` };
    if (clientId !== username) return { ok: false, code: 'STW_ERR_MQTT_CLIENT_ID_MISMATCH', returnCode: CONNACK.IDENTIFIER_REJECTED, message: `client id "${clientId}" is not the username` };
    return { ok: true, identity: { kind: 'device', device } };
  }

  /**
   * The device as it stands after a login with `password`, or null when that is not its secret.
   * A verified secret is remembered by hash, so a reconnect costs one digest; a secret stored as
   * scrypt (before device secrets were hashed with SHA-256) is re-hashed now that we hold it, so
   * the next reconnect storm costs a digest per device, not scrypt.
   */
  private async verifiedDevice(device: DeviceRecord, password: string): Promise<DeviceRecord | null> {
    if (this.verified.get(device.id) === `${device.secretHash}:${sha256Hex(password)}`) return device;
    if (!(await verifySecret(password, device.secretHash))) return null;
    if (!isLegacyMachineHash(device.secretHash) || !this.deps.rehash) {
      this.verified.set(device.id, `${device.secretHash}:${sha256Hex(password)}`);
      return device;
    }
    try {
      const current = (await this.deps.rehash(device.id, hashMachineSecret(password))) ?? device;
      this.verified.set(device.id, `${current.secretHash}:${sha256Hex(password)}`);
      return current;
    } catch (err) {
      // The secret is right either way: the re-hash is tried again at the next login (nothing
      // is remembered as verified meanwhile).
      this.deps.logger?.warn({ err, device: device.id }, 'a legacy secret could not be re-hashed; the device is let in, and it is tried again at its next login');
      return device;
    }
  }

  /** After a registry change: the next login of this device verifies its secret again. */
  forget(deviceId: string): void {
    this.verified.delete(deviceId);
  }
}

function equalSecrets(a: string, b: string): boolean {
  const x = Buffer.from(sha256Hex(a), 'hex');
  const y = Buffer.from(sha256Hex(b), 'hex');
  return timingSafeEqual(x, y);
}
