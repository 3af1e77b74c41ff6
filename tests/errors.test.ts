import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../server/errors.ts';
import { REPO_ROOT } from '../server/config.ts';

describe('error catalogue', () => {
  it('every code is documented in README.md with its HTTP status', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const missing = Object.entries(ERRORS)
      .filter(([code, { status }]) => !new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`).test(readme))
      .map(([code]) => code);
    expect(missing).toEqual([]);
  });

  it('codes follow the STW_ERR_ pattern and statuses are HTTP error statuses', () => {
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^STW_ERR_[A-Z0-9_]+$/);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });
});
