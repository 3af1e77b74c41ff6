/**
 * MQTT 3.1.1 on raw sockets for load generation: packets are encoded once (mqtt-packet) and
 * then only patched — a packet id and a sequence number written into a copy of a template — so
 * the generator spends a few hundred nanoseconds per message and the broker, not the
 * generator, sets the pace. MQTT.js tops out far lower on a 2-core machine.
 */
import net from 'node:net';
import mqttPacket from 'mqtt-packet';

/** Control packet types (first byte >> 4). */
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBACK = 9;

export interface Credentials {
  clientId: string;
  username?: string;
  password?: string;
  keepalive?: number;
}

export function encodeConnect(c: Credentials): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId: c.clientId,
    keepalive: c.keepalive ?? 60,
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.password !== undefined ? { password: Buffer.from(c.password) } : {}),
  });
}

export function encodeSubscribe(topic: string, qos: 0 | 1): Buffer {
  return mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
}

/** Width of the right-aligned decimal sequence number a publish template carries. */
const SEQ_WIDTH = 10;
const SEQ_MARK = '#'.repeat(SEQ_WIDTH);

/**
 * A QoS 1 PUBLISH encoded once. `payload` holds `{seq}` where the sequence number goes; it is
 * written right-aligned in 10 characters, padded with spaces (valid inside JSON).
 */
export class PublishTemplate {
  readonly bytes: Buffer;
  private readonly idOffset: number;
  private readonly seqOffset: number;

  constructor(topic: string, payload: string) {
    if (!payload.includes('{seq}')) throw new Error('payload template needs a {seq} placeholder');
    const body = Buffer.from(payload.replace('{seq}', SEQ_MARK));
    this.bytes = mqttPacket.generate({ cmd: 'publish', topic, payload: body, qos: 1, messageId: 1, retain: false, dup: false });
    // Fixed header (1 byte + remaining-length varint), topic length (2) + topic, then the id.
    let varint = 1;
    while (this.bytes[varint]! & 0x80) varint++;
    this.idOffset = 1 + varint + 2 + Buffer.byteLength(topic);
    this.seqOffset = this.bytes.indexOf(SEQ_MARK, this.idOffset + 2);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Writes this publish with `id` and `seq` into `target` at `at`. */
  writeInto(target: Buffer, at: number, id: number, seq: number): void {
    this.bytes.copy(target, at);
    target[at + this.idOffset] = id >> 8;
    target[at + this.idOffset + 1] = id & 0xff;
    let pos = at + this.seqOffset + SEQ_WIDTH - 1;
    let n = seq;
    do {
      target[pos--] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0 && pos >= at + this.seqOffset);
    while (pos >= at + this.seqOffset) target[pos--] = 32;
  }
}

/**
 * Splits a byte stream into MQTT packets and hands each one's type, flags and body (a view,
 * valid only during the call) to `onPacket`.
 */
export class PacketReader {
  private pending: Buffer | null = null;

  constructor(private readonly onPacket: (type: number, flags: number, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let pos = 0;
    while (pos + 2 <= buf.length) {
      let length = 0;
      let multiplier = 1;
      let i = pos + 1;
      let complete = false;
      for (; i < buf.length && i < pos + 5; i++) {
        const byte = buf[i]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if (!(byte & 0x80)) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || i + length > buf.length) break;
      this.onPacket(buf[pos]! >> 4, buf[pos]! & 0x0f, buf.subarray(i, i + length));
      pos = i + length;
    }
    if (pos < buf.length) {
      buf = buf.subarray(pos);
      // Keep a copy: the socket may reuse the chunk's memory.
      this.pending = Buffer.from(buf);
    }
  }
}

/** Opens a TCP connection with Nagle off and resolves once connected. */
export function openSocket(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Connects and waits for the CONNACK; rejects on a refusal (return code ≠ 0), a close or
 * `timeoutMs`. The socket comes back with no data listener.
 */
export async function connectClient(port: number, credentials: Credentials, timeoutMs = 30_000): Promise<net.Socket> {
  const socket = await openSocket(port);
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`${credentials.clientId}: no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    const reader = new PacketReader((type, _flags, body) => {
      if (type !== CONNACK) return fail(new Error(`${credentials.clientId}: expected CONNACK, got packet type ${type}`));
      if (body[1] !== 0) return fail(new Error(`${credentials.clientId}: CONNACK return code ${body[1]}`));
      cleanup();
      resolve(socket);
    });
    const onData = (chunk: Buffer): void => reader.push(chunk);
    const onClose = (): void => fail(new Error(`${credentials.clientId}: closed before CONNACK`));
    const onError = (err: Error): void => fail(err);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.write(encodeConnect(credentials));
  });
}

/** Runs `task` over `items` with at most `limit` running at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
