/**
 * Device secrets at rest: SHA-256 digests of the 256-bit secrets the server issues, and the
 * scrypt hashes an earlier version stored, re-hashed when the device next logs in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../server/auth/secrets.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { connectDevice, connectError } from '../helpers/mqtt.ts';

let t: TestApp;

/** The CONNACK refusal a device with this secret gets (4 = bad username or password), or null. */
async function refusal(id: string, secret: string): Promise<string | null> {
  const err = await connectError(t.mqttUrl, { clientId: id, username: id, password: secret });
  return err === null ? null : String((err as { code?: unknown }).code ?? err.message);
}

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t?.stop();
});

describe('device secrets at rest', () => {
  it('stores a new secret as its SHA-256 digest, never the secret, and the device logs in with it', async () => {
    const { secret } = await t.app.devices.register({ id: 'door-digest', site: 'demo-hotel', type: 'door-sensor', zone: '2-05' });
    const stored = (await t.app.storage.devices.get('door-digest'))!.secretHash;
    expect(stored).toMatch(/^sha256\$[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain(secret);
    const client = await connectDevice(t.mqttUrl, 'door-digest', secret);
    await client.endAsync();
    expect(await refusal('door-digest', `${secret.slice(0, -1)}x`)).toBe('4');
  });

  it('re-hashes a secret stored as scrypt at the next successful login, and refuses a wrong one before and after', async () => {
    const { secret } = await t.app.devices.register({ id: 'door-legacy', site: 'demo-hotel', type: 'door-sensor', zone: '2-06' });
    // As an earlier version stored it.
    await t.app.storage.devices.update('door-legacy', { secretHash: await hashSecret(secret, { N: 2 ** 12, r: 8, p: 1 }) });
    // Written behind the server's back: its directory follows the store's version.
    await t.app.directory.refresh();
    expect(await refusal('door-legacy', 'not-the-secret')).toBe('4');
    expect((await t.app.storage.devices.get('door-legacy'))!.secretHash).toMatch(/^scrypt\$/);

    const client = await connectDevice(t.mqttUrl, 'door-legacy', secret);
    await client.endAsync();
    expect((await t.app.storage.devices.get('door-legacy'))!.secretHash).toMatch(/^sha256\$/);
    // And it still logs in, now against the digest.
    const again = await connectDevice(t.mqttUrl, 'door-legacy', secret);
    await again.endAsync();
    expect(await refusal('door-legacy', 'not-the-secret')).toBe('4');
  });
});
