import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../server/config.ts';
import { StoreTwinError } from '../server/errors.ts';
import { tempDir } from './helpers/app.ts';

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig();
    expect(c).toMatchObject({ httpPort: 8080, mqttPort: 1883, dataDir: './data', demo: true });
    expect(c.broker.maxConnectBytes).toBeLessThan(c.broker.maxPacketBytes);
  });

  it('takes the file, then the environment, then flags', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'storetwin.yaml');
    await writeFile(file, 'httpPort: 9000\nmqttPort: 9001\ndataDir: /srv/a\nbroker:\n  maxEventBytes: 1024\n');
    const c = loadConfig({ file, env: { STORETWIN_MQTT_PORT: '9101', STORETWIN_DATA_DIR: '/srv/b', STORETWIN_DEMO: 'false' }, flags: { dataDir: '/srv/c' } });
    expect(c).toMatchObject({ httpPort: 9000, mqttPort: 9101, dataDir: '/srv/c', demo: false, broker: { maxEventBytes: 1024 } });
  });

  it('reports every problem at once with STW_ERR_CONFIG_INVALID', () => {
    let err: unknown;
    try {
      loadConfig({ env: { STORETWIN_HTTP_PORT: 'eighty', STORETWIN_LOG_LEVEL: 'loud' }, flags: { mqttPort: 70000 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreTwinError);
    const e = err as StoreTwinError;
    expect(e.code).toBe('STW_ERR_CONFIG_INVALID');
    const paths = (e.detail as Array<{ path: string[] }>).map((i) => i.path.join('.'));
    expect(paths.sort()).toEqual(['httpPort', 'logLevel', 'mqttPort']);
  });

  it('refuses unknown keys, so a typo does not silently fall back to a default', () => {
    expect(() => loadConfig({ flags: { mqttPrt: 1 } })).toThrow(/mqttPrt/);
  });

  it('reads the InfluxDB settings from the environment and refuses a raw retention under 31 days', () => {
    const env = { STORETWIN_INFLUX_URL: 'http://127.0.0.1:8086/storetwin', STORETWIN_INFLUX_USERNAME: 'stw', STORETWIN_INFLUX_PASSWORD: 'pw', STORETWIN_INFLUX_RETENTION_DAYS: '45' };
    const c = loadConfig({ env });
    expect(c.influxUrl).toBe('http://127.0.0.1:8086/storetwin');
    expect(c.influx).toMatchObject({ username: 'stw', password: 'pw', rawRetentionDays: 45, rollupRetentionDays: 0 });
    expect(loadConfig({}).influx.rawRetentionDays).toBe(90);
    expect(() => loadConfig({ env: { ...env, STORETWIN_INFLUX_RETENTION_DAYS: '7' } })).toThrow(/rawRetentionDays|31/);
    expect(() => loadConfig({ env: { STORETWIN_INFLUX_URL: 'ftp://127.0.0.1/x' } })).toThrow(/influxUrl|http/);
  });
});
