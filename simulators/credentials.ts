/**
 * Device credentials for simulators: `{ "devices": { "<deviceId>": "<secret>" } }`.
 * The server writes this file for the demo sites when it registers their devices; a
 * technician can write one by hand from the secrets the API returned. It holds MQTT
 * passwords, so it is written owner-only (0600) and replaced atomically: a simulator that
 * reads it while the server rewrites it sees the old file or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { z } from 'zod';

import { ID_PATTERN } from '../server/sites/model.ts';

export type Credentials = Record<string, string>;

export const credentialsFileSchema = z.object({
  devices: z.record(z.string().regex(ID_PATTERN, 'device ids are [a-z0-9-]+'), z.string().min(1)),
});

export class CredentialsFileError extends Error {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`credentials file ${file}: ${message}`, options);
    this.name = 'CredentialsFileError';
    this.file = file;
  }
}

/** Reads a credentials file; throws CredentialsFileError naming every problem. */
export async function readCredentials(file: string): Promise<Credentials> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CredentialsFileError(file, `cannot be read (${(err as Error).message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CredentialsFileError(file, `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = credentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new CredentialsFileError(file, `has the wrong shape: ${problems.join('; ')}`);
  }
  return { ...parsed.data.devices };
}

/**
 * Writes the map atomically: a temp file in the same directory (rename is only atomic
 * within one file system), created with mode 0600 so the secrets are never world-readable,
 * not even for a moment, then renamed over the target.
 */
export async function writeCredentials(file: string, devices: Credentials): Promise<void> {
  const parsed = credentialsFileSchema.safeParse({ devices });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new CredentialsFileError(file, `refusing to write invalid credentials: ${problems.join('; ')}`);
  }
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const sorted = Object.fromEntries(Object.entries(devices).sort(([a], [b]) => a.localeCompare(b)));
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify({ devices: sorted }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    // The umask cannot widen 0600, but an explicit chmod documents the intent and covers odd umasks.
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
