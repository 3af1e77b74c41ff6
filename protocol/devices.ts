/**
 * Wire types of the technician's device page (/devices) and of bulk registration
 * (`POST /api/devices/import`, `storetwin device import`). The server builds them
 * (server/registry/csv-import.ts, server/api/routes/devices.ts); the dashboard reads them.
 */

/** A registered device as the API shows it: never its secret or the secret's hash. */
export interface RegisteredDevice {
  id: string;
  site: string;
  type: string;
  zone: string;
  label: string | null;
  /** Metres [x, y, z]; null = the zone's centre. */
  position: [number, number, number] | null;
  /** Platform → the device's id there (`imei`, `ctwing`, `onenet`, `hikvision`, `axis`, `frigate`). */
  externalIds: Record<string, string>;
  enabled: boolean;
  /** When it was registered (ISO 8601). */
  createdAt: string;
  updatedAt: string;
}

/**
 * The columns a device import (CSV) may have, in any order; the header row names them, case
 * and surrounding spaces ignored. `id`, `type` and `zone` are required; each external-id
 * platform has its own column, left empty where the device has no id there.
 */
export const IMPORT_REQUIRED_COLUMNS = ['id', 'type', 'zone'] as const;
/** The platforms a device may have an id on (server/registry/types.ts EXTERNAL_ID_PLATFORMS). */
export const EXTERNAL_ID_COLUMNS = ['imei', 'ctwing', 'onenet', 'hikvision', 'axis', 'frigate'] as const;
export const IMPORT_OPTIONAL_COLUMNS = ['label', ...EXTERNAL_ID_COLUMNS] as const;
export type ImportColumn = (typeof IMPORT_REQUIRED_COLUMNS)[number] | (typeof IMPORT_OPTIONAL_COLUMNS)[number];

/** Beyond these an import is refused whole (413 STW_ERR_IMPORT_TOO_LARGE): split the file. */
export const IMPORT_LIMITS = { bytes: 1024 * 1024, rows: 5000 } as const;

/**
 * One problem of an import. Every problem of a file is reported at once, and a file with any
 * problem registers nothing.
 */
export interface ImportProblem {
  /** The line of the file the row starts on (the header is line 1); 0 = the file as a whole. */
  line: number;
  /** The column as the header names it; null = the whole row or file. */
  column: string | null;
  /** An STW_ERR_ code (README, "Error codes"). */
  code: string;
  message: string;
  /** The value refused, as the file has it. */
  value?: string;
}

/** `detail` of the 400 STW_ERR_IMPORT_INVALID answer. */
export interface ImportRefusal {
  problems: ImportProblem[];
}

/** One imported device and its MQTT secret, shown this once. */
export interface ImportedDevice {
  device: RegisteredDevice;
  secret: string;
}

/** The 201 answer of `POST /api/devices/import?site=`. */
export interface ImportAnswer {
  site: string;
  devices: ImportedDevice[];
}
