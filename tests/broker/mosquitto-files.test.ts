/**
 * Mosquitto's files from the registry, without a broker: the `$7$` hash is the one
 * mosquitto_passwd makes (checked both ways against Debian's binary), every way a secret is
 * issued records its line (the API's DeviceService, the CLI's offline context), a device whose
 * secret predates the records is left out and named, stale lines are pruned, and a rewrite is
 * atomic and keeps the file's mode.
 */
import { execFileSync } from 'node:child_process';
import { chmod, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashMachineSecret } from '../../server/auth/secrets.ts';
import { mosquittoPasswordHash, verifyMosquittoPassword } from '../../server/broker/external/mosquitto-passwd.ts';
import { MosquittoSync } from '../../server/broker/external/mosquitto-sync.ts';
import { SqliteBrokerPasswordStore } from '../../server/broker/external/sqlite-password-store.ts';
import { openOfflineContext } from '../../server/cli/offline-context.ts';
import { EventBus } from '../../server/events.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';
import { tempDir, testConfig } from '../helpers/app.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("Mosquitto's password hash", () => {
  it('is what mosquitto_passwd makes and checks', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'passwd');
    await writeFile(file, '');
    execFileSync('mosquitto_passwd', ['-b', file, 'door-1', 'the secret']);
    const theirs = (await readFile(file, 'utf8')).trim().split(':')[1]!;
    expect(theirs).toMatch(/^\$7\$101\$/);
    expect(verifyMosquittoPassword('the secret', theirs)).toBe(true);
    expect(verifyMosquittoPassword('not the secret', theirs)).toBe(false);
    const ours = mosquittoPasswordHash('the secret');
    expect(ours).toMatch(/^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(verifyMosquittoPassword('the secret', ours)).toBe(true);
  });
});

describe('MosquittoSync', () => {
  it('records the line of every secret issued, also from the CLI, and writes only current credentials', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const config = testConfig(dir);
    const ctx = await openOfflineContext(config, { create: true });
    try {
      const { secret } = await ctx.devices.register({ id: 'door-cli', site: 'demo-hotel', type: 'door-sensor', zone: '2-01' });
      await ctx.devices.register({ id: 'door-off', site: 'demo-hotel', type: 'door-sensor', zone: '2-02' });
      // A CSV import's devices, their lines recorded in one commit.
      const imported = await ctx.devices.registerMany([
        { id: 'door-csv-1', site: 'demo-hotel', type: 'door-sensor', zone: '2-04' },
        { id: 'door-csv-2', site: 'demo-hotel', type: 'door-sensor', zone: '2-05' },
      ]);
      await ctx.devices.update('door-off', { enabled: false });
      // A device whose secret was issued before lines were recorded.
      await ctx.storage.devices.register([{ ...(await ctx.storage.devices.get('door-cli'))!, id: 'door-old', zone: '2-03', secretHash: hashMachineSecret('old secret') }]);
      await ctx.directory.refresh();
      const operator = await ctx.users.createUser({ username: 'desk', password: 'correct horse battery', role: 'operator', sites: [] });
      await ctx.users.createApiToken(operator.id, 'old');
      const newest = await ctx.users.createApiToken(operator.id, 'feed');
      const technician = await ctx.users.createUser({ username: 'tech', password: 'correct horse battery', role: 'technician', sites: [] });
      await ctx.users.createApiToken(technician.id, 'cannot read alarms');

      const files = { passwordFile: path.join(dir, 'passwd'), aclFile: path.join(dir, 'acl') };
      await writeFile(files.passwordFile, '');
      await chmod(files.passwordFile, 0o600);
      const passwords = new SqliteBrokerPasswordStore(ctx.storage.db);
      const sync = new MosquittoSync({ files, serverAccount: { username: 'storetwin', password: 'server pw' }, directory: ctx.directory, accounts: ctx.storage.accounts, passwords, bus: new EventBus(), logger: createLogger({ level: 'silent' }), metrics: new Metrics() });
      const summary = await sync.sync();
      expect(summary).toMatchObject({ devices: 3, users: 1, devicesWithoutLine: ['door-old'], written: true });

      const lines = Object.fromEntries((await readFile(files.passwordFile, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':') as [string, string]));
      expect(Object.keys(lines).sort()).toEqual(['desk', 'door-cli', 'door-csv-1', 'door-csv-2', 'storetwin']);
      expect(verifyMosquittoPassword(secret, lines['door-cli']!)).toBe(true);
      expect(verifyMosquittoPassword(imported[1]!.secret, lines['door-csv-2']!)).toBe(true);
      expect(verifyMosquittoPassword(newest, lines.desk!)).toBe(true);
      expect(verifyMosquittoPassword('server pw', lines.storetwin!)).toBe(true);
      const acl = await readFile(files.aclFile, 'utf8');
      expect(acl).toContain('user desk\ntopic read storetwin/+/alarms\n');
      expect(acl).not.toContain('door-off');
      expect(acl).not.toContain('user tech');
      // The rewrite kept the mode the operator gave the file, and left no temporary file behind.
      expect((await stat(files.passwordFile)).mode & 0o777).toBe(0o600);
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // Unchanged registry: nothing rewritten.
      expect((await sync.sync()).written).toBe(false);

      // A rotated secret's old line no longer counts, and is pruned once old enough.
      const rotated = await ctx.devices.rotateSecret('door-cli');
      const later = new SqliteBrokerPasswordStore(ctx.storage.db, () => Date.now() + 2 * 3600_000);
      const pruning = new MosquittoSync({ files, serverAccount: { username: 'storetwin', password: 'server pw' }, directory: ctx.directory, accounts: ctx.storage.accounts, passwords: later, bus: new EventBus(), logger: createLogger({ level: 'silent' }), metrics: new Metrics() });
      expect((await pruning.sync()).written).toBe(true);
      const rows = (await passwords.list()).filter((p) => p.username === 'door-cli');
      expect(rows).toHaveLength(1);
      expect(verifyMosquittoPassword(rotated.secret, rows[0]!.hash)).toBe(true);
    } finally {
      ctx.close();
    }
  });
});
