/**
 * A wrong external broker fails the start at once with a coded error that says which broker
 * (never its password), instead of a server that hangs or runs deaf: nothing listening at the
 * URL, a broker that refuses StoreTwin's credentials, and configurations that cannot work.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { StoreTwinError } from '../../server/errors.ts';
import { tempDir, testConfig } from '../helpers/app.ts';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.ts';

let mosquitto: Mosquitto;
const dirs: string[] = [];

/** createApp + listen, expecting a StoreTwinError; the app is stopped either way. */
async function startFails(overrides: Parameters<typeof testConfig>[1]): Promise<{ error: StoreTwinError; ms: number }> {
  const dir = await tempDir();
  dirs.push(dir);
  const app = await createApp(testConfig(dir, overrides));
  const started = Date.now();
  try {
    await app.listen();
  } catch (err) {
    await app.stop().catch(() => undefined);
    expect(err).toBeInstanceOf(StoreTwinError);
    return { error: err as StoreTwinError, ms: Date.now() - started };
  }
  await app.stop();
  throw new Error('the app started');
}

beforeAll(async () => {
  mosquitto = await startMosquitto({ someone: 'else' });
});

afterAll(async () => {
  await mosquitto?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('an external broker that cannot be used fails the start', () => {
  it('nothing listening at the URL: STW_ERR_MQTT_EXTERNAL_UNREACHABLE within the connect timeout, naming the URL without the password', async () => {
    const port = await freePort();
    const { error, ms } = await startFails({ mqttUrl: `mqtt://storetwin:s3cret-pw@127.0.0.1:${port}`, broker: { external: { connectTimeoutMs: 1500, reconnectPeriodMs: 200 } } });
    expect(error.code).toBe('STW_ERR_MQTT_EXTERNAL_UNREACHABLE');
    expect(error.message).toContain(`mqtt://storetwin@127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).not.toContain('s3cret-pw');
    expect(ms).toBeLessThan(4000);
  });

  it('wrong credentials: STW_ERR_MQTT_EXTERNAL_REFUSED, without waiting for the timeout', async () => {
    const { error, ms } = await startFails({ mqttUrl: `mqtt://storetwin:wrong-pw@127.0.0.1:${mosquitto.port}`, broker: { external: { connectTimeoutMs: 20_000, reconnectPeriodMs: 100 } } });
    expect(error.code).toBe('STW_ERR_MQTT_EXTERNAL_REFUSED');
    expect(error.message).toContain(`mqtt://storetwin@127.0.0.1:${mosquitto.port}`);
    expect(error.message).not.toContain('wrong-pw');
    expect(ms).toBeLessThan(5000);
  });

  it('refuses configurations that cannot work before anything starts', () => {
    const invalid = (input: Parameters<typeof loadConfig>[0]) => {
      try {
        loadConfig(input);
      } catch (err) {
        return (err as StoreTwinError).code;
      }
      return null;
    };
    expect(invalid({ env: { STORETWIN_MQTT_URL: 'http://broker:1883' } })).toBe('STW_ERR_CONFIG_INVALID');
    // Mosquitto's files need StoreTwin's own account: the URL's user and password.
    expect(invalid({ env: { STORETWIN_MQTT_URL: 'mqtt://broker:1883', STORETWIN_MOSQUITTO_PASSWORD_FILE: '/etc/mosquitto/passwd', STORETWIN_MOSQUITTO_ACL_FILE: '/etc/mosquitto/acl' } })).toBe('STW_ERR_CONFIG_INVALID');
    expect(invalid({ env: { STORETWIN_BROKER_AUTH_SECRET: 'short' } })).toBe('STW_ERR_CONFIG_INVALID');
    const ok = loadConfig({
      file: undefined,
      env: {
        STORETWIN_MQTT_URL: 'mqtts://storetwin:pw@broker.example.com:8883',
        STORETWIN_MQTT_CLIENT_ID: 'storetwin-a',
        STORETWIN_MOSQUITTO_PASSWORD_FILE: '/etc/mosquitto/passwd',
        STORETWIN_MOSQUITTO_ACL_FILE: '/etc/mosquitto/acl',
        STORETWIN_MOSQUITTO_PID_FILE: '/run/mosquitto/mosquitto.pid',
        STORETWIN_BROKER_AUTH_SECRET: 'a-long-shared-secret-for-emqx',
      },
    });
    expect(ok.broker.external).toMatchObject({ clientId: 'storetwin-a', mosquitto: { passwordFile: '/etc/mosquitto/passwd', aclFile: '/etc/mosquitto/acl', pidFile: '/run/mosquitto/mosquitto.pid' }, authSecret: 'a-long-shared-secret-for-emqx' });
  });
});
