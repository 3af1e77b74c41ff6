/** `storetwin device add|import|list|show|remove|rotate-secret` — for technicians installing devices. */
import { createAuditStore } from '../stores.ts';
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { IMPORT_OPTIONAL_COLUMNS, IMPORT_REQUIRED_COLUMNS, type ImportProblem } from '../../protocol/devices.ts';
import { DEVICE_TYPE_IDS, getDeviceType } from '../../devices/index.ts';
import { CLI_ACTOR, deviceFields, type AuditActor, type NewAuditEntry } from '../audit/index.ts';
import { importDevicesCsv } from '../registry/csv-import.ts';
import { csvField } from '../registry/csv.ts';
import { toPublicDevice } from '../registry/devices.ts';
import { isStoreTwinError, StoreTwinError } from '../errors.ts';
import { addCommonOptions, configFrom, type CommonOptions } from './options.ts';
import { openOfflineContext, type OfflineContext, type OfflineContextOptions } from './offline-context.ts';

interface AddOptions extends CommonOptions {
  site: string;
  type: string;
  zone: string;
  id?: string;
  label?: string;
  position?: string;
  externalId?: string[];
  json?: boolean;
}

async function withContext<T>(
  cmd: Command,
  opts: CommonOptions,
  fn: (ctx: OfflineContext) => Promise<T> | T,
  contextOptions: OfflineContextOptions = {},
): Promise<T> {
  const config = configFrom(cmd, { dataDir: opts.dataDir, sitesDirs: opts.sitesDir, logLevel: opts.logLevel });
  const ctx = await openOfflineContext(config, contextOptions);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** An admin command's audit entry, as `cli` (whoever holds the data directory). */
async function record(ctx: OfflineContext, ...entries: Array<Omit<NewAuditEntry, keyof AuditActor>>): Promise<void> {
  await createAuditStore(ctx.backend).appendMany(entries.map((fields) => ({ ...CLI_ACTOR, ...fields })));
}

/** `imei=860374051096202` → ['imei', '860374051096202'] */
function parseExternalIds(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new StoreTwinError('STW_ERR_VALIDATION', `--external-id must be platform=id, got "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

function parsePosition(text: string | undefined): [number, number, number] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n))) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `--position must be x,y,z in metres, got "${text}"`);
  }
  return parts as [number, number, number];
}

/**
 * The id `device add` gives a device when none is named: the type's short prefix and the zone
 * (`door-2-14`). An unknown type keeps its own name; registration then refuses it with its code.
 */
export function defaultDeviceId(type: string, zone: string): string {
  return `${getDeviceType(type)?.idPrefix ?? type}-${zone}`;
}

/** `line 4, zone: STW_ERR_ZONE_NOT_FOUND site "demo-hotel" has no zone "9-99"` */
export function problemLine(p: ImportProblem): string {
  const where = p.line === 0 ? 'file' : `line ${p.line}`;
  return `${where}${p.column ? `, ${p.column}` : ''}: ${p.code} ${p.message}`;
}

/** The file's text; `-` reads standard input. */
function readImportFile(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new StoreTwinError('STW_ERR_VALIDATION', `cannot read ${file === '-' ? 'standard input' : `"${file}"`}: ${(err as Error).message}`);
  }
}

export function registerDeviceCommands(program: Command): void {
  const device = program.command('device').description('register and manage devices');

  addCommonOptions(device.command('add').description('register a device and print its MQTT secret (shown only this once)'))
    .requiredOption('--site <site>', 'site id, e.g. demo-hotel')
    .requiredOption('--type <type>', DEVICE_TYPE_IDS.join(' | '))
    .requiredOption('--zone <zone>', 'zone the device watches, e.g. 2-14')
    .option('--id <id>', 'device id [default: <type-prefix>-<zone>]')
    .option('--label <text>', 'a human name')
    .option('--position <x,y,z>', 'metres in the floor plane (default: the zone centre)')
    .option('--external-id <platform=id...>', 'ids on other platforms: imei, ctwing, onenet, hikvision, axis, frigate')
    .addOption(new Option('--json', 'print JSON instead of text'))
    // create: devices can be provisioned before the server's first start.
    .action(async (opts: AddOptions, cmd: Command) =>
      withContext(cmd, opts, async (ctx) => {
        const { device: created, secret } = await ctx.devices.register({
          id: opts.id ?? defaultDeviceId(opts.type, opts.zone),
          site: opts.site,
          type: opts.type,
          zone: opts.zone,
          label: opts.label ?? null,
          position: parsePosition(opts.position) ?? null,
          externalIds: parseExternalIds(opts.externalId),
        });
        await record(ctx, { action: 'device.registered', site: created.site, target: { kind: 'device', id: created.id }, after: deviceFields(created) });
        if (opts.json) return console.log(JSON.stringify({ device: created, secret }, null, 2));
        console.log(
          [
            `registered ${created.id} (${created.type}) in ${created.site} zone ${created.zone}`,
            '',
            'MQTT connection (the secret is shown only now; store it in the device):',
            `  client id / username  ${created.id}`,
            `  password              ${secret}`,
            `  publish events to     storetwin/${created.site}/${created.id}/up`,
            `  status (retained/LWT) storetwin/${created.site}/${created.id}/status`,
            `  commands arrive on    storetwin/${created.site}/${created.id}/cmd`,
          ].join('\n'),
        );
      }, { create: true }),
    );

  addCommonOptions(
    device
      .command('import <file>')
      .description('register the devices of a CSV file (- = stdin), all or none, and print their secrets (shown only this once) as CSV')
      .addHelpText(
        'after',
        [
          '',
          `The first line names the columns: ${IMPORT_REQUIRED_COLUMNS.join(',')} (required), ${IMPORT_OPTIONAL_COLUMNS.join(',')} (optional, any order).`,
          'Every problem is listed (line, column, code) and nothing is registered until the file is clean.',
          '',
          'Example:',
          '  storetwin device import devices.csv --site demo-hotel > secrets.csv',
        ].join('\n'),
      ),
  )
    .requiredOption('--site <site>', 'the site every device of the file is registered in')
    .addOption(new Option('--json', 'print JSON instead of CSV (the refusal too)'))
    .action(async (file: string, opts: CommonOptions & { site: string; json?: boolean }, cmd: Command) => {
      const text = readImportFile(file);
      return withContext(cmd, opts, async (ctx) => {
        if (!ctx.sites.get(opts.site)) throw new StoreTwinError('STW_ERR_SITE_NOT_FOUND', `no site "${opts.site}"`);
        try {
          const answer = await importDevicesCsv(text, opts.site, { registry: ctx.directory, accounts: ctx.storage.accounts, sites: ctx.sites, devices: ctx.devices });
          // Right after the import's commit, its audit entries in one transaction of their own.
          await record(ctx, ...answer.devices.map(({ device: d }) => ({ action: 'device.registered' as const, site: d.site, target: { kind: 'device' as const, id: d.id }, after: deviceFields(d) })));
          if (opts.json) return console.log(JSON.stringify(answer, null, 2));
          // stdout is the CSV alone (`> secrets.csv`); what happened goes to stderr.
          console.log(['id,secret', ...answer.devices.map((d) => `${csvField(d.device.id)},${csvField(d.secret)}`)].join('\n'));
          console.error(`registered ${answer.devices.length} device(s) in ${answer.site}; the secrets above are shown only now: store them`);
        } catch (err) {
          if (isStoreTwinError(err) && err.code === 'STW_ERR_IMPORT_INVALID') {
            const { problems } = err.detail as { problems: ImportProblem[] };
            if (opts.json) console.log(JSON.stringify({ error: err.toJSON() }, null, 2));
            else for (const p of problems) console.error(problemLine(p));
          }
          throw err;
        }
      }, { create: true });
    });

  addCommonOptions(device.command('list').description('list registered devices'))
    .option('--site <site>', 'only this site')
    .option('--type <type>', 'only this type')
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { site?: string; type?: string; json?: boolean }, cmd: Command) =>
      withContext(cmd, opts, (ctx) => {
        const items = ctx.directory
          .allDevices()
          .filter((d) => (!opts.site || d.site === opts.site) && (!opts.type || d.type === opts.type))
          .map(toPublicDevice);
        if (opts.json) return console.log(JSON.stringify(items, null, 2));
        for (const d of items) console.log(`${d.id.padEnd(24)} ${d.type.padEnd(17)} ${d.site.padEnd(14)} ${d.zone.padEnd(16)} ${d.enabled ? '' : 'disabled'}`);
        console.log(`${items.length} device(s)`);
      }),
    );

  addCommonOptions(device.command('show <id>').description('show one device')).action(async (id: string, opts: CommonOptions, cmd: Command) =>
    withContext(cmd, opts, (ctx) => {
      const rec = ctx.directory.getDevice(id);
      if (!rec) throw new StoreTwinError('STW_ERR_DEVICE_NOT_FOUND', `no device "${id}"`);
      console.log(JSON.stringify(toPublicDevice(rec), null, 2));
    }),
  );

  addCommonOptions(device.command('remove <id>').description('delete a device (its stored events stay)')).action(
    async (id: string, opts: CommonOptions, cmd: Command) =>
      withContext(cmd, opts, async (ctx) => {
        const rec = ctx.directory.getDevice(id);
        await ctx.devices.remove(id);
        if (rec) await record(ctx, { action: 'device.removed', site: rec.site, target: { kind: 'device', id }, before: deviceFields(rec) });
        console.log(`removed ${id}`);
      }),
  );

  addCommonOptions(device.command('rotate-secret <id>').description('issue a new MQTT secret; the old one stops working')).action(
    async (id: string, opts: CommonOptions, cmd: Command) =>
      withContext(cmd, opts, async (ctx) => {
        const { device: rotated, secret } = await ctx.devices.rotateSecret(id);
        // That it was rotated; never the secret.
        await record(ctx, { action: 'device.secret_rotated', site: rotated.site, target: { kind: 'device', id } });
        console.log(`new secret for ${id} (shown only now): ${secret}`);
      }),
  );
}
