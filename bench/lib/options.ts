/**
 * Benchmark options: `--name VALUE` on the command line, else `BENCH_NAME` in the environment,
 * else the default; every one a positive number (an integer where asked), refused otherwise.
 */
export function positiveOption(values: Record<string, unknown>, name: string, fallback: number, integer: boolean): number {
  const given = values[name];
  const raw = typeof given === 'string' ? given : process.env[`BENCH_${name.toUpperCase()}`];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
