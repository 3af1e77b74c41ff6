/**
 * Turns what a simulated device decided to send into SimOutputs: in time order, and for JSON
 * devices stamped with `seq` (per message, wrapping at 65535 like a u16 counter in flash) and
 * `ts`. Binary AA55 frames carry neither; the server stamps their arrival.
 */
import type { DeviceEvent, PayloadFormat, SimOutput } from '../types.ts';
import { randomInt, type Random } from './random.ts';
import { isoSeconds } from './time.ts';

export const SEQ_MODULO = 65536;

export interface Timed {
  at: number;
  event: DeviceEvent;
  /** Overrides the device's format (e.g. a frame type the binary protocol lacks). */
  format?: PayloadFormat;
}

export class Outbox {
  private seq: number;

  constructor(
    readonly format: PayloadFormat,
    random: Random,
    private readonly onSend: () => void = () => {},
  ) {
    // Real devices keep the counter across reboots; a random start keeps a restarted
    // simulator from looking like a replay to the server's dedupe window.
    this.seq = randomInt(random, 0, SEQ_MODULO - 1);
  }

  send(items: Timed[]): SimOutput[] {
    return [...items]
      .sort((a, b) => a.at - b.at)
      .map((item) => {
        this.onSend();
        const format = item.format ?? this.format;
        if (format === 'binary') return { kind: 'event', event: item.event, format };
        const event: DeviceEvent = { ...item.event, seq: this.seq, ts: isoSeconds(item.at) };
        this.seq = (this.seq + 1) % SEQ_MODULO;
        return { kind: 'event', event, format };
      });
  }
}
