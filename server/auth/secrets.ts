/**
 * Secrets at rest: passwords as scrypt hashes (`scrypt$N$r$p$salt$hash`, base64url); device MQTT
 * secrets (`sha256$digest`) and tokens as sha256 — they are 256-bit random, so a fast hash is
 * enough and lookups stay cheap. Node's own crypto: no native addon to build.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );

/** For passwords people chose: N=2^15 keeps a login ~50-100 ms on 2 small cores. */
export const PASSWORD_COST = { N: 2 ** 15, r: 8, p: 1 };
const DEFAULT_COST = PASSWORD_COST;
const KEY_LENGTH = 32;

export async function hashSecret(secret: string, cost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, KEY_LENGTH, { ...cost, maxmem: 256 * cost.N * cost.r });
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * Device secrets are issued by the server (newSecret(): 256 random bits), so nobody can guess
 * one, however fast the hash: SHA-256 keeps a stolen database from being a list of working
 * credentials at a thousandth of scrypt's cost, and a whole site reconnects after a restart
 * without queueing on the thread pool. Passwords people choose keep scrypt.
 */
export function hashMachineSecret(secret: string): string {
  return `sha256$${createHash('sha256').update(secret).digest('base64url')}`;
}

/** A device secret stored before hashMachineSecret (scrypt): re-hashed at its next login. */
export function isLegacyMachineHash(stored: string): boolean {
  return stored.startsWith('scrypt$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  if (stored.startsWith('sha256$')) {
    const expected = Buffer.from(stored.slice('sha256$'.length), 'base64url');
    const actual = createHash('sha256').update(secret).digest();
    return expected.length === actual.length && timingSafeEqual(actual, expected);
  }
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (![N, R, P].every((v) => Number.isInteger(v) && v > 0)) return false;
  const expected = Buffer.from(keyB64, 'base64url');
  const key = await scrypt(secret, Buffer.from(saltB64, 'base64url'), expected.length, {
    N,
    r: R,
    p: P,
    maxmem: 256 * N * R,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A new random secret or token: 32 bytes, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
