/**
 * Mosquitto's password-file hash, as `mosquitto_passwd` (Mosquitto 2) writes it:
 * `$7$101$<salt, base64>$<hash, base64>` = PBKDF2-SHA512, 101 iterations, a 12-byte salt, a
 * 64-byte key. Made here rather than by running mosquitto_passwd so that thousands of lines
 * cost milliseconds and no binary is needed where StoreTwin runs. 101 iterations is what
 * mosquitto_passwd uses; the secrets hashed are 256-bit random values nobody can guess, so the
 * low count costs nothing.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

const ITERATIONS = 101;
const SALT_BYTES = 12;
const KEY_BYTES = 64;

/** The `$7$` hash of `password` with a fresh salt. */
export function mosquittoPasswordHash(password: string): string {
  const salt = randomBytes(SALT_BYTES);
  const key = pbkdf2Sync(password, salt, ITERATIONS, KEY_BYTES, 'sha512');
  return `$7$${ITERATIONS}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches a `$7$` hash (what Mosquitto checks at CONNECT). */
export function verifyMosquittoPassword(password: string, hash: string): boolean {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!m) return false;
  const iterations = Number(m[1]);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 1_000_000) return false;
  const expected = Buffer.from(m[3]!, 'base64');
  const key = pbkdf2Sync(password, Buffer.from(m[2]!, 'base64'), iterations, expected.length, 'sha512');
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password-file line; usernames holding ':' or a line break cannot be written (ours never do). */
export function passwordFileLine(username: string, hash: string): string {
  if (/[:\r\n]/.test(username)) throw new Error(`username "${username}" cannot be in a Mosquitto password file`);
  return `${username}:${hash}\n`;
}
