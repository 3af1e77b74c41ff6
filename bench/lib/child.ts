/**
 * Child processes for benchmarks: a TypeScript fixture run by node + tsx that prints one JSON
 * line when ready, and what /proc says about it (RSS, CPU time).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Child<T> {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The fixture's ready line. */
  readonly info: T;
  /** SIGKILL, and resolves once the process is gone. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
// A benchmark interrupted half-way must not leave brokers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

/** Starts `node [nodeArgs] --import tsx script ...args` and waits for its first stdout line (JSON). */
export async function startChild<T>(script: string, args: readonly string[] = [], timeoutMs = 60_000, nodeArgs: readonly string[] = []): Promise<Child<T>> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    const info = await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} not ready within ${timeoutMs} ms`)), timeoutMs);
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        clearTimeout(timer);
        lines.close();
        try {
          resolve(JSON.parse(line) as T);
        } catch {
          reject(new Error(`${script} printed ${JSON.stringify(line)}, not JSON`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${script} exited (${signal ?? code}) before it was ready`));
      });
    });
    return { process: child, pid: child.pid!, info, kill };
  } catch (err) {
    await kill();
    throw err;
  }
}

/** Resident set size of a process in bytes (VmRSS in /proc/PID/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * CPU time (user + system) a process has used, in seconds, from /proc/PID/stat. Linux reports
 * it in clock ticks, which are 1/100 s on every mainstream architecture (USER_HZ).
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: fields are counted from its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / 100;
}
