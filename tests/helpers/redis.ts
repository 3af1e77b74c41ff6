/**
 * A real Redis for tests: Debian's redis-server on a free loopback port, no persistence, as a
 * child process stopped at the end. A missing redis-server fails the suite with how to install
 * it: a skip would hide a broken fan-out.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { freePort } from './mosquitto.ts';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const BINARY = '/usr/bin/redis-server';

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      resolve(d.toString().startsWith('+PONG'));
      s.destroy();
    });
    s.once('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(BINARY)) throw new Error('redis-server not found: apt-get install redis-server (.ci/run installs it). The cross-worker live feed tests need a real Redis.');
  const port = await freePort();
  const proc = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited at start (code ${proc.exitCode}): ${stderr}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 30));
  }
  const kill = (): void => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  process.once('exit', kill);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      process.removeListener('exit', kill);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      });
    },
  };
}
