/**
 * BrokerLogin's device path on its own: a legacy (scrypt) secret is re-hashed at a verified
 * login, and a store that refuses the re-hash neither locks the device out nor lets the wrong
 * secret, a disabled device or a wrong client id in. A device's secret is checked from memory
 * first, and a user named like a device still gets in with its token.
 */
import { describe, expect, it } from 'vitest';
import { hashMachineSecret, hashSecret } from '../../server/auth/secrets.ts';
import type { PublicUser } from '../../server/auth/users.ts';
import { BrokerLogin } from '../../server/broker/login.ts';
import type { DeviceRecord } from '../../server/storage/types.ts';

const SECRET = 'a-device-secret-of-enough-length-0123456789';

async function legacyDevice(patch: Partial<DeviceRecord> = {}): Promise<DeviceRecord> {
  return {
    id: 'door-legacy',
    site: 'demo-hotel',
    type: 'door-sensor',
    zone: '2-06',
    label: null,
    position: null,
    externalIds: {},
    secretHash: await hashSecret(SECRET, { N: 2 ** 12, r: 8, p: 1 }),
    enabled: true,
    createdAt: '2026-11-29T00:00:00.000Z',
    updatedAt: '2026-11-29T00:00:00.000Z',
    ...patch,
  };
}

/** A directory of one device that follows a stored rehash, as DeviceService keeps the real one. */
function login(device: DeviceRecord, store: (id: string, hash: string) => Promise<DeviceRecord | null>): BrokerLogin {
  let current = device;
  const rehash = async (id: string, hash: string) => {
    const updated = await store(id, hash);
    if (updated) current = updated;
    return updated;
  };
  return new BrokerLogin({ directory: { getDevice: (id) => (id === current.id ? current : null), lookup: async (id) => (id === current.id ? current : null) }, rehash });
}

describe('a device logging in with a legacy secret', () => {
  it('is re-hashed once; the next login is checked against the new digest', async () => {
    const device = await legacyDevice();
    const stored: string[] = [];
    const l = login(device, async (_id, hash) => (stored.push(hash), { ...device, secretHash: hash }));
    expect(await l.check('door-legacy', 'door-legacy', SECRET)).toMatchObject({ ok: true });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatch(/^sha256\$/);
    expect(await l.check('door-legacy', 'door-legacy', SECRET)).toMatchObject({ ok: true });
    expect(stored).toHaveLength(1);
  });

  it('is let in when the store refuses the re-hash, which is tried again at the next login', async () => {
    const device = await legacyDevice();
    let tries = 0;
    const l = login(device, () => (tries++, Promise.reject(new Error('SQLITE_BUSY: database is locked'))));
    expect(await l.check('door-legacy', 'door-legacy', SECRET)).toMatchObject({ ok: true, identity: { kind: 'device' } });
    expect(await l.check('door-legacy', 'door-legacy', SECRET)).toMatchObject({ ok: true });
    expect(tries).toBe(2);
    expect(await l.check('door-legacy', 'door-legacy', 'wrong')).toMatchObject({ ok: false, returnCode: 4 });
    expect(await l.check('not-the-id', 'door-legacy', SECRET)).toMatchObject({ ok: false, code: 'STW_ERR_MQTT_CLIENT_ID_MISMATCH' });
    const disabled = await legacyDevice({ enabled: false });
    expect(await login(disabled, () => Promise.reject(new Error('busy'))).check('door-legacy', 'door-legacy', SECRET)).toMatchObject({ ok: false, code: 'STW_ERR_MQTT_DEVICE_DISABLED' });
  });
});

describe('a user and a device of the same name', () => {
  it('each gets in with its own credential: the device with its secret, the user with its token', async () => {
    const device = await legacyDevice({ id: 'ops', secretHash: hashMachineSecret(SECRET) });
    const token = 'stw_user_token_of_the_ops_account_0123456789abcdef';
    const user = { id: 7, username: 'ops', role: 'manager', sites: ['demo-hotel'] } as unknown as PublicUser;
    let tokenLookups = 0;
    const l = new BrokerLogin({
      directory: { getDevice: (id) => (id === 'ops' ? device : null), lookup: async (id) => (id === 'ops' ? device : null) },
      users: { authenticateToken: async (t) => (tokenLookups++, t === token ? { user, tokenHash: 'h', expiresAt: null } : null) },
    });
    expect(await l.check('ops', 'ops', SECRET)).toMatchObject({ ok: true, identity: { kind: 'device' } });
    // The device's secret is checked from memory: no token lookup in the store.
    expect(tokenLookups).toBe(0);
    expect(await l.check('ops-feed', 'ops', token)).toMatchObject({ ok: true, identity: { kind: 'user' } });
    expect(await l.check('ops', 'ops', 'neither')).toMatchObject({ ok: false, returnCode: 4 });
  });
});

