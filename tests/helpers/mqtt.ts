/** Real MQTT clients (mqtt.js, protocol 3.1.1) and raw sockets for broker tests. */
import net from 'node:net';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';

export async function connectDevice(url: string, id: string, secret: string, extra: Partial<IClientOptions> = {}): Promise<MqttClient> {
  return connectAsync(url, {
    clientId: id,
    username: id,
    password: secret,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
}

/** Resolves with the CONNACK error (or null if it connected — then the client is ended). */
export async function connectError(url: string, opts: IClientOptions): Promise<Error | null> {
  try {
    const client = await connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    await client.endAsync();
    return null;
  } catch (err) {
    return err as Error;
  }
}

/** A raw TCP socket; resolves when the server closes it, with what the server sent. */
export function rawExchange(port: number, chunks: Buffer[], opts: { timeoutMs?: number } = {}): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received: Buffer.concat(received) });
    }, opts.timeoutMs ?? 3000);
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(received) });
    });
    socket.on('connect', () => {
      for (const c of chunks) if (!socket.destroyed) socket.write(c);
    });
    socket.on('timeout', () => reject(new Error('timeout')));
  });
}
