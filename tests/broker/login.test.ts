/**
 * BrokerLogin's device path on its own: a legacy (scrypt) secret is re-hashed at a verified
 * login, and a store that refuses the re-hash neither locks the device out nor lets the wrong
 * secret, a disabled device or a wrong client id in.
 */
import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../server/auth/secrets.ts';
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
