import { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { FixedHeaderScanner, GuardedConnection } from '../../server/broker/packet-guard.ts';

const limits = { maxConnectBytes: 4096, maxPacketBytes: 64 * 1024 };

const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'door-2-01', keepalive: 60 });
const publish = (bytes: number) =>
  mqttPacket.generate({ cmd: 'publish', topic: 'storetwin/demo-hotel/door-2-01/up', payload: Buffer.alloc(bytes), qos: 1, messageId: 1, retain: false, dup: false });

describe('FixedHeaderScanner', () => {
  it('accepts CONNECT then packets under the cap, split at any byte boundary', () => {
    const stream = Buffer.concat([connect, publish(100), publish(6_000), mqttPacket.generate({ cmd: 'pingreq' })]);
    for (const split of [1, 2, 3, 7, 64, 1000]) {
      const scanner = new FixedHeaderScanner(limits);
      for (let i = 0; i < stream.length; i += split) expect(scanner.scan(stream.subarray(i, i + split))).toBeNull();
    }
  });

  it('refuses a first packet that is not CONNECT', () => {
    expect(new FixedHeaderScanner(limits).scan(publish(10))?.code).toBe('STW_ERR_MQTT_FIRST_PACKET_NOT_CONNECT');
  });

  it('refuses a CONNECT announcing more than the pre-auth cap from its length bytes alone', () => {
    // 0x10, then a remaining length of 10 MB, and no body at all.
    const header = Buffer.from([0x10, 0x80, 0xad, 0xe2, 0x04]);
    expect(new FixedHeaderScanner(limits).scan(header)?.code).toBe('STW_ERR_MQTT_CONNECT_TOO_LARGE');
  });

  it('refuses an oversized packet after CONNECT before its body arrives', () => {
    const scanner = new FixedHeaderScanner(limits);
    expect(scanner.scan(connect)).toBeNull();
    const header = publish(70_000).subarray(0, 4);
    expect(scanner.scan(header)?.code).toBe('STW_ERR_MQTT_PACKET_TOO_LARGE');
  });

  it('refuses a remaining length of more than four bytes', () => {
    const scanner = new FixedHeaderScanner({ maxConnectBytes: 1e9, maxPacketBytes: 1e9 });
    expect(scanner.scan(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]))?.code).toBe('STW_ERR_MQTT_MALFORMED_PACKET');
  });
});

/** A connection that records how its bytes were handed over: one entry per write (or writev). */
class RecordingConnection extends Duplex {
  readonly writes: Buffer[][] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.writes.push([chunk]);
    cb();
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: () => void): void {
    this.writes.push(chunks.map((c) => c.chunk));
    cb();
  }
}

describe('GuardedConnection', () => {
  const puback = (id: number) => mqttPacket.generate({ cmd: 'puback', messageId: id });

  it('sends what one turn wrote in one write, in order (the PUBACKs of a group commit)', async () => {
    const inner = new RecordingConnection();
    const guarded = new GuardedConnection(inner, limits, () => undefined);
    for (let id = 1; id <= 50; id++) guarded.write(puback(id));
    expect(inner.writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(inner.writes).toHaveLength(1);
    expect(Buffer.concat(inner.writes[0]!)).toEqual(Buffer.concat(Array.from({ length: 50 }, (_, i) => puback(i + 1))));
    guarded.write(puback(51));
    await new Promise((resolve) => setImmediate(resolve));
    expect(inner.writes).toHaveLength(2);
  });

  it('still sends what was written before the connection is destroyed (a refusing CONNACK)', () => {
    const inner = new RecordingConnection();
    const guarded = new GuardedConnection(inner, limits, () => undefined);
    const connack = mqttPacket.generate({ cmd: 'connack', returnCode: 4, sessionPresent: false });
    guarded.write(connack);
    guarded.destroy();
    expect(inner.writes.flat()).toEqual([connack]);
  });
});
