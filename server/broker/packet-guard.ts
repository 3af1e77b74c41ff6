/**
 * A transport guard in front of aedes. aedes (through mqtt-packet) buffers a packet until its
 * declared remaining length has arrived, so a peer announcing a 256 MB packet before it has even
 * authenticated makes the broker hold whatever it sends. This guard reads only MQTT fixed
 * headers as bytes stream past and closes the connection the moment a header breaks policy:
 * before any body byte is buffered.
 *
 * Policy:
 * - the first packet must be CONNECT [MQTT-3.1.0-1];
 * - CONNECT may be at most `maxConnectBytes` (it is unauthenticated);
 * - any later packet at most `maxPacketBytes`;
 * - a remaining-length varint longer than 4 bytes is malformed [MQTT-2.2.3].
 *
 * It passes bytes through unchanged, without copying, so it costs a few comparisons per chunk.
 *
 * Outgoing packets written in one turn of the event loop leave in one write: the PUBACKs a group
 * commit releases together (one per event of the batch) would otherwise cost a syscall each,
 * which was the largest single cost of ingest (bench/ingest.bench.ts).
 */
import { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.ts';

export interface PacketGuardLimits {
  maxConnectBytes: number;
  maxPacketBytes: number;
}

export type GuardViolation = { code: ErrorCode; message: string };

const CONNECT = 1;

/** Incremental parser of MQTT fixed headers; knows nothing of streams. */
export class FixedHeaderScanner {
  private state: 'type' | 'length' | 'body' = 'type';
  private packetType = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;
  private packets = 0;

  constructor(private readonly limits: PacketGuardLimits) {}

  /** Returns a violation, or null when the chunk is fine so far. */
  scan(chunk: Uint8Array): GuardViolation | null {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === 'body') {
        const take = Math.min(this.bodyLeft, n - i);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === 'type') {
        this.packetType = byte >> 4;
        if (this.packets === 0 && this.packetType !== CONNECT) {
          return { code: 'STW_ERR_MQTT_FIRST_PACKET_NOT_CONNECT', message: `first packet type ${this.packetType} is not CONNECT` };
        }
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      // state === 'length': the remaining length is a base-128 varint of at most 4 bytes.
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes >= 4) {
          return { code: 'STW_ERR_MQTT_MALFORMED_PACKET', message: 'remaining length longer than 4 bytes' };
        }
        // Refuse as soon as the partial length already exceeds the cap.
        const violation = this.checkSize(this.length);
        if (violation) return violation;
        continue;
      }
      const violation = this.checkSize(this.length);
      if (violation) return violation;
      this.packets++;
      this.bodyLeft = this.length;
      this.state = this.length > 0 ? 'body' : 'type';
    }
    return null;
  }

  private checkSize(length: number): GuardViolation | null {
    if (this.packets === 0 && length > this.limits.maxConnectBytes) {
      return {
        code: 'STW_ERR_MQTT_CONNECT_TOO_LARGE',
        message: `CONNECT of ${length}+ bytes exceeds ${this.limits.maxConnectBytes}`,
      };
    }
    if (length > this.limits.maxPacketBytes) {
      return { code: 'STW_ERR_MQTT_PACKET_TOO_LARGE', message: `packet of ${length}+ bytes exceeds ${this.limits.maxPacketBytes}` };
    }
    return null;
  }
}

/**
 * Wraps a connection (TCP socket or WebSocket stream) so aedes reads it through the scanner.
 * On a violation `onViolation` is called once and the connection is destroyed.
 */
export class GuardedConnection extends Duplex {
  private readonly scanner: FixedHeaderScanner;
  private violated = false;
  /** The inner connection is corked until the end of this turn (see the file comment). */
  private corked = false;
  private readonly endTurn = (): void => {
    this.corked = false;
    this.inner.uncork();
  };

  constructor(
    readonly inner: Duplex,
    limits: PacketGuardLimits,
    private readonly onViolation: (v: GuardViolation) => void,
  ) {
    super({ allowHalfOpen: false });
    this.scanner = new FixedHeaderScanner(limits);
    inner.on('data', (chunk: Buffer) => {
      if (this.violated) return;
      const violation = this.scanner.scan(chunk);
      if (violation) {
        this.violated = true;
        this.onViolation(violation);
        inner.destroy();
        this.destroy();
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.inner.destroyed) return callback();
    if (!this.corked) {
      this.corked = true;
      this.inner.cork();
      setImmediate(this.endTurn);
    }
    if (this.inner.write(chunk, encoding)) callback();
    else this.inner.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.corked) this.endTurn();
    this.inner.end(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // What was written before the close still leaves (a CONNACK refusing the login).
    if (this.corked) this.endTurn();
    this.inner.destroy();
    callback(err);
  }
}
