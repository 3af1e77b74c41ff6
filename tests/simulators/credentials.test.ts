import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CredentialsFileError, readCredentials, writeCredentials } from '../../simulators/credentials.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storetwin-creds-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('credentials file', () => {
  it('round-trips, is written 0600 and leaves no temp file behind', async () => {
    const file = join(dir, 'nested', 'creds.json');
    await writeCredentials(file, { 'shop-door-cash': 's3cret', 'a-cam': 'other' });
    expect(await readCredentials(file)).toEqual({ 'a-cam': 'other', 'shop-door-cash': 's3cret' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ devices: { 'a-cam': 'other', 'shop-door-cash': 's3cret' } });

    // Replacing keeps the mode and the single file.
    await writeCredentials(file, { 'a-cam': 'rotated' });
    expect(await readCredentials(file)).toEqual({ 'a-cam': 'rotated' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'nested'))).toEqual(['creds.json']);
  });

  it('names the problem in a broken file', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, '{"devices": {"Bad Id": 3}}');
    await expect(readCredentials(file)).rejects.toThrow(CredentialsFileError);
    await expect(readCredentials(file)).rejects.toThrow(/Bad Id/);
    await writeFile(file, '{nope');
    await expect(readCredentials(file)).rejects.toThrow(/not valid JSON/);
    await expect(readCredentials(join(dir, 'missing.json'))).rejects.toThrow(/cannot be read/);
  });

  it('refuses to write an invalid map', async () => {
    await expect(writeCredentials(join(dir, 'x.json'), { 'UPPER/case': 'x' })).rejects.toThrow(CredentialsFileError);
    expect(await readdir(dir)).toEqual([]);
  });
});
