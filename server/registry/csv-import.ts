/**
 * Bulk registration from a CSV file (`POST /api/devices/import`, `storetwin device import`):
 * a header row naming the columns (protocol/devices.ts: `id,type,zone` required, `label` and
 * one column per external-id platform optional, any order), then one device per row, all into
 * one site. Every row is checked before anything is stored — format, type, zone, ids taken in
 * the registry or repeated in the file, external ids — and every problem is reported at once
 * with its line, column and code. A file with any problem registers nothing; a clean one is
 * stored in one transaction (DeviceService.registerMany) and answers each device's secret once.
 * Device ids and external ids are checked against the in-memory directory, account names
 * against one read of the accounts (a 5,000-row file is not 5,000 round trips).
 */
import { getDeviceType, DEVICE_TYPE_IDS } from '../../devices/index.ts';
import {
  IMPORT_LIMITS,
  IMPORT_OPTIONAL_COLUMNS,
  IMPORT_REQUIRED_COLUMNS,
  type ImportAnswer,
  type ImportColumn,
  type ImportProblem,
} from '../../protocol/devices.ts';
import { StoreTwinError, type ErrorCode } from '../errors.ts';
import { ID_PATTERN } from '../sites/model.ts';
import type { AccountStore } from '../auth/store.ts';
import type { DeviceLookup } from './directory.ts';
import { parseCsv } from './csv.ts';
import type { SiteDirectory } from './devices.ts';
import { normalizeExternalId } from './external-ids.ts';
import { EXTERNAL_ID_PLATFORMS, type DeviceInput, type DeviceRegistrar } from './types.ts';

const COLUMNS: readonly ImportColumn[] = [...IMPORT_REQUIRED_COLUMNS, ...IMPORT_OPTIONAL_COLUMNS];
const LABEL_MAX = 80;
const EXTERNAL_ID_MAX = 128;
type Platform = (typeof EXTERNAL_ID_PLATFORMS)[number];

/**
 * What an id must look like where its form is fixed. Spreadsheets mangle long numbers (an IMEI
 * opened in Excel becomes `8.60374E+14`) and MACs: such a value would register a device that no
 * platform message ever matches, so a file is held to the form, not only to a length.
 */
const EXTERNAL_ID_FORMS: Partial<Record<Platform, { test(v: string): boolean; hint: string }>> = {
  imei: { test: (v) => /^[0-9 -]+$/.test(v) && v.replace(/\D/g, '').length === 15, hint: '15 digits' },
  hikvision: { test: (v) => /^[0-9a-fA-F:.-]+$/.test(v) && v.replace(/[^0-9a-fA-F]/g, '').length === 12, hint: 'a MAC address (12 hex digits)' },
};

export interface ImportRow {
  line: number;
  input: DeviceInput;
}

export interface ImportDeps {
  registry: Pick<DeviceLookup, 'getDevice' | 'findDeviceByExternalId'>;
  accounts: Pick<AccountStore, 'listUsers'>;
  sites: SiteDirectory;
  devices: Pick<DeviceRegistrar, 'registerMany'>;
  /**
   * Whether the importer may see a site. An id taken in a site it cannot see is "unavailable",
   * never "exists", so a technician of one store cannot probe another's devices. Default: all.
   */
  canSee?(site: string): boolean;
}

/** The CSV read into registrations, and what is wrong with its form (columns, quotes). */
export function readDeviceCsv(text: string, site: string): { rows: ImportRow[]; problems: ImportProblem[]; columns: Set<ImportColumn> } {
  const problems: ImportProblem[] = [];
  const parsed = parseCsv(text);
  for (const p of parsed.problems) problems.push({ line: p.line, column: null, code: 'STW_ERR_CSV_MALFORMED', message: p.message });
  const [header, ...records] = parsed.records;
  if (!header) {
    if (problems.length === 0) problems.push({ line: 0, column: null, code: 'STW_ERR_CSV_MALFORMED', message: `the file is empty: the first line names the columns (${COLUMNS.join(',')}), then one device a line` });
    return { rows: [], problems, columns: new Set() };
  }
  if (records.length > IMPORT_LIMITS.rows) {
    throw new StoreTwinError('STW_ERR_IMPORT_TOO_LARGE', `${records.length} devices: at most ${IMPORT_LIMITS.rows} per import, split the file`);
  }

  const names = header.fields.map((f) => f.trim().toLowerCase());
  const index = new Map<ImportColumn, number>();
  names.forEach((name, i) => {
    const column = COLUMNS.find((c) => c.toLowerCase() === name);
    if (!column) {
      problems.push({ line: header.line, column: name, code: 'STW_ERR_CSV_COLUMN', message: name === '' ? `column ${i + 1} has no name` : `unknown column "${name}": the columns are ${COLUMNS.join(', ')}`, value: header.fields[i] });
    } else if (index.has(column)) {
      problems.push({ line: header.line, column, code: 'STW_ERR_CSV_COLUMN', message: `column "${column}" is named twice` });
    } else index.set(column, i);
  });
  for (const column of IMPORT_REQUIRED_COLUMNS) {
    if (!index.has(column)) problems.push({ line: header.line, column, code: 'STW_ERR_CSV_COLUMN', message: `the required column "${column}" is missing (required: ${IMPORT_REQUIRED_COLUMNS.join(', ')})` });
  }
  if (records.length === 0 && problems.length === 0) {
    problems.push({ line: 0, column: null, code: 'STW_ERR_CSV_MALFORMED', message: 'the file names its columns but lists no device' });
  }

  const rows: ImportRow[] = [];
  for (const record of records) {
    // Trailing empty cells are a spreadsheet's doing; anything more is a shifted row.
    const extra = record.fields.slice(names.length);
    if (extra.some((f) => f.trim() !== '')) {
      problems.push({ line: record.line, column: null, code: 'STW_ERR_CSV_MALFORMED', message: `the row has ${record.fields.length} fields, the header ${names.length}: a comma inside a value needs the value in quotes` });
      continue;
    }
    const cell = (column: ImportColumn): string => {
      const i = index.get(column);
      return i === undefined ? '' : (record.fields[i] ?? '').trim();
    };
    const externalIds: Record<string, string> = {};
    for (const platform of EXTERNAL_ID_PLATFORMS) {
      const value = cell(platform);
      if (value !== '') externalIds[platform] = value;
    }
    const label = cell('label');
    rows.push({ line: record.line, input: { id: cell('id'), site, type: cell('type'), zone: cell('zone'), label: label === '' ? null : label, externalIds } });
  }
  return { rows, problems, columns: new Set(index.keys()) };
}

/** Every problem of the rows against the site, the catalogue, the registry and each other. */
export function checkRows(
  rows: readonly ImportRow[],
  deps: Omit<ImportDeps, 'accounts'>,
  columns: ReadonlySet<ImportColumn> = new Set(IMPORT_REQUIRED_COLUMNS),
  /** Account names, lower case: a device id may not be one. */
  userNames: ReadonlySet<string> = new Set(),
): ImportProblem[] {
  const problems: ImportProblem[] = [];
  const canSee = deps.canSee ?? (() => true);
  const ids = new Map<string, number>();
  const externals = new Map<string, number>();
  const add = (row: ImportRow, column: string | null, code: ErrorCode, message: string, value?: string) =>
    problems.push({ line: row.line, column, code, message, ...(value === undefined ? {} : { value }) });

  for (const row of rows) {
    const { id, site, type, zone, label, externalIds = {} } = row.input;
    // A column the header lacks is reported once there, not again on every row.
    if (columns.has('id')) {
      if (id === '') add(row, 'id', 'STW_ERR_VALIDATION', 'the device id is empty');
      else if (!ID_PATTERN.test(id)) add(row, 'id', 'STW_ERR_VALIDATION', 'a device id is lowercase letters, digits and dashes, at most 63, starting with a letter or digit', id);
      else if (ids.has(id)) add(row, 'id', 'STW_ERR_IMPORT_DUPLICATE', `"${id}" is also on line ${ids.get(id)}`, id);
      else {
        ids.set(id, row.line);
        const existing = deps.registry.getDevice(id);
        if (existing && canSee(existing.site)) add(row, 'id', 'STW_ERR_DEVICE_EXISTS', `device "${id}" is already registered (site ${existing.site})`, id);
        else if (existing || userNames.has(id.toLowerCase())) add(row, 'id', 'STW_ERR_DEVICE_ID_UNAVAILABLE', `"${id}" cannot be used: choose another id`, id);
      }
    }
    if (columns.has('type')) {
      if (type === '') add(row, 'type', 'STW_ERR_VALIDATION', 'the type is empty');
      else if (!getDeviceType(type)) add(row, 'type', 'STW_ERR_DEVICE_TYPE_UNKNOWN', `unknown device type "${type}": one of ${DEVICE_TYPE_IDS.join(', ')}`, type);
    }
    if (columns.has('zone')) {
      if (zone === '') add(row, 'zone', 'STW_ERR_VALIDATION', 'the zone is empty');
      else if (!deps.sites.zone(site, zone)) add(row, 'zone', 'STW_ERR_ZONE_NOT_FOUND', `site "${site}" has no zone "${zone}"`, zone);
    }
    if (label && label.length > LABEL_MAX) add(row, 'label', 'STW_ERR_VALIDATION', `the label is longer than ${LABEL_MAX} characters`, label);

    for (const [platform, value] of Object.entries(externalIds) as Array<[Platform, string]>) {
      const form = EXTERNAL_ID_FORMS[platform];
      if (value.length > EXTERNAL_ID_MAX || /[\r\n\t]/.test(value) || (form && !form.test(value))) {
        add(row, platform, 'STW_ERR_EXTERNAL_ID_INVALID', form ? `${platform} must be ${form.hint}` : `${platform} must be at most ${EXTERNAL_ID_MAX} characters on one line`, value);
        continue;
      }
      const normal = normalizeExternalId(platform, value);
      const key = `${platform}\u0000${normal}`;
      const seen = externals.get(key);
      if (seen !== undefined) {
        add(row, platform, 'STW_ERR_IMPORT_DUPLICATE', `${platform} ${normal} is also on line ${seen}`, value);
        continue;
      }
      externals.set(key, row.line);
      const holder = deps.registry.findDeviceByExternalId(platform, normal);
      if (holder) add(row, platform, 'STW_ERR_EXTERNAL_ID_TAKEN', canSee(holder.site) ? `${platform} ${normal} is already device "${holder.id}"'s` : `${platform} ${normal} is already another device's`, value);
    }
  }
  return problems;
}

/**
 * The whole import: read, check, then store all or nothing. Throws STW_ERR_IMPORT_TOO_LARGE
 * (over IMPORT_LIMITS) or STW_ERR_IMPORT_INVALID with `detail.problems` (every problem, by
 * line); the site itself is the caller's to check (unknown or out of scope is a 404).
 */
export async function importDevicesCsv(text: string, site: string, deps: ImportDeps): Promise<ImportAnswer> {
  if (Buffer.byteLength(text, 'utf8') > IMPORT_LIMITS.bytes) {
    throw new StoreTwinError('STW_ERR_IMPORT_TOO_LARGE', `the file is larger than ${IMPORT_LIMITS.bytes / 1024 / 1024} MB: split it`);
  }
  const read = readDeviceCsv(text, site);
  const userNames = new Set((await deps.accounts.listUsers()).map((u) => u.username.toLowerCase()));
  const problems = [...read.problems, ...checkRows(read.rows, deps, read.columns, userNames)].sort((a, b) => a.line - b.line);
  if (problems.length > 0) {
    const lines = new Set(problems.map((p) => p.line)).size;
    throw new StoreTwinError('STW_ERR_IMPORT_INVALID', `${problems.length} problem(s) on ${lines} line(s): nothing was registered`, { problems });
  }
  // ImportAnswer holds RegisteredDevice (protocol/devices.ts): PublicDevice must fit it.
  const devices = await deps.devices.registerMany(read.rows.map((r) => r.input));
  return { site, devices };
}
