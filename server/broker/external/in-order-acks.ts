/**
 * PUBACKs for the messages an external broker delivers, each sent once its message is stored
 * and all in the order the messages came, as MQTT requires of a receiver [MQTT-4.6.0-2]: a
 * message stored early (a duplicate, a refused payload) waits for the ones before it.
 *
 * Why not MQTT.js's own PUBACK (sent when `handleMessage`'s callback is called): MQTT.js hands
 * over the next message only after that, so waiting for each commit in turn would store one
 * message per commit (tens to hundreds a second). Taking messages as they come and
 * acknowledging here lets one commit cover everything the broker has in flight to us
 * (max_inflight_messages), which is what the embedded broker's group commit does.
 *
 * An acknowledgement belongs to the connection the message came on: after a reconnection the
 * broker redelivers what was not acknowledged, so acknowledgements still owed on an old
 * connection are dropped rather than sent on the new one.
 */
import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';

interface Pending {
  messageId: number;
  stream: Duplex;
  stored: boolean;
}

export class InOrderAcks {
  private readonly pending: Pending[] = [];

  /** A QoS 1 message arrived on `stream`: its PUBACK is owed, after every one before it. */
  expect(messageId: number, stream: Duplex): Pending {
    const entry: Pending = { messageId, stream, stored: false };
    this.pending.push(entry);
    return entry;
  }

  /** The message is stored (or refused for good): acknowledge it and any ready ones after it. */
  settle(entry: Pending): void {
    entry.stored = true;
    const out = new Map<Duplex, Buffer[]>();
    while (this.pending[0]?.stored) {
      const { messageId, stream } = this.pending.shift()!;
      if (stream.destroyed || !stream.writable) continue;
      out.set(stream, [...(out.get(stream) ?? []), mqttPacket.generate({ cmd: 'puback', messageId })]);
    }
    // One write per turn: a commit settles a whole window of messages at once.
    for (const [stream, packets] of out) stream.write(Buffer.concat(packets));
  }

  /** The connection is gone: nothing it delivered will be acknowledged (the broker redelivers it). */
  abandon(stream: Duplex): void {
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]!.stream === stream) this.pending.splice(i, 1);
  }

  /** PUBACKs still owed (for metrics and tests). */
  get owed(): number {
    return this.pending.length;
  }
}
