/**
 * One logger (pino) for the process; modules take a child with their namespace and context.
 * Secrets are redacted wherever they appear in a logged object.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'secretHash',
  'passwordHash',
  '*.password',
  '*.secret',
  '*.token',
  '*.secretHash',
  '*.passwordHash',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(opts: { level: LevelWithSilent; name?: string }): Logger {
  return pino({
    name: opts.name ?? 'storetwin',
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}
