/**
 * Ingest hands accepted events to the twin and the rules (`events.accepted`) while their commit
 * is still running, once per turn; the device's acknowledgement still waits for the commit, and
 * a commit that fails lets the retransmission through as a new message.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.ts';
import { EventBus } from '../../server/events.ts';
import { Ingest } from '../../server/ingest/ingest.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';
import type { DeviceRecord, EventPage, EventStore, NewEvent } from '../../server/storage/types.ts';

/** A store whose appends wait until the test lets them finish (or fail). */
class HeldStore implements EventStore {
  readonly kind = 'held';
  readonly appended: NewEvent[][] = [];
  private held: Array<{ batch: readonly NewEvent[]; done: (err?: Error) => void }> = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  append(events: readonly NewEvent[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.held.push({ batch: events, done: (err) => (err ? reject(err) : (this.appended.push([...events]), resolve())) });
    });
  }
  release(err?: Error): void {
    for (const h of this.held.splice(0)) h.done(err);
  }
  get waiting(): number {
    return this.held.length;
  }
  async query(): Promise<EventPage> {
    return { items: [], nextCursor: null };
  }
  async recentSeqs(): Promise<Array<{ device: string; seq: number; receivedAt: string }>> {
    return [];
  }
}

const DOOR: DeviceRecord = {
  id: 'door-1',
  site: 'demo-hotel',
  type: 'door-sensor',
  zone: '2-14',
  label: null,
  position: null,
  externalIds: {},
  secretHash: '-',
  enabled: true,
  createdAt: '2026-11-29T00:00:00.000Z',
  updatedAt: '2026-11-29T00:00:00.000Z',
};

function setup(): { ingest: Ingest; store: HeldStore; announced: NewEvent[][] } {
  const config = parseConfig({});
  const store = new HeldStore();
  const bus = new EventBus();
  const announced: NewEvent[][] = [];
  bus.on('events.accepted', (batch) => announced.push([...batch]));
  const ingest = new Ingest({ config: { ...config.ingest, maxEventBytes: config.broker.maxEventBytes }, events: store, bus, logger: createLogger({ level: 'silent' }), metrics: new Metrics() });
  return { ingest, store, announced };
}

const door = (state: 'open' | 'closed', seq: number) => Buffer.from(JSON.stringify({ type: 'door', state, seq }));
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Ingest announces accepted events before their commit', () => {
  it('announces the events of one turn together while the commit runs; the acknowledgement waits for the commit', async () => {
    const { ingest, store, announced } = setup();
    let acked = 0;
    const first = ingest.acceptUplink(DOOR, door('open', 1)).then(() => acked++);
    const second = ingest.acceptUplink(DOOR, door('closed', 2)).then(() => acked++);
    expect(announced).toEqual([]);
    await turn();
    expect(announced.map((b) => b.map((e) => e.seq))).toEqual([[1, 2]]);
    expect(store.waiting).toBe(1);
    expect(acked).toBe(0);
    store.release();
    await Promise.all([first, second]);
    expect(acked).toBe(2);
    expect(store.appended.map((b) => b.map((e) => e.seq))).toEqual([[1, 2]]);
  });

  it('lets the retransmission of a message whose commit failed through, and announces it again', async () => {
    const { ingest, store, announced } = setup();
    const failed = ingest.acceptUplink(DOOR, door('open', 7));
    await turn();
    store.release(new Error('disk full'));
    await expect(failed).rejects.toThrow('disk full');
    const retry = ingest.acceptUplink(DOOR, door('open', 7));
    await turn();
    store.release();
    await expect(retry).resolves.toMatchObject({ stored: 1, duplicates: 0 });
    expect(announced.map((b) => b.map((e) => e.seq))).toEqual([[7], [7]]);
    expect(store.appended.map((b) => b.map((e) => e.seq))).toEqual([[7]]);
  });

  it('announces what is left when it stops', async () => {
    const { ingest, store, announced } = setup();
    const pending = ingest.acceptUplink(DOOR, door('open', 1));
    const stopped = ingest.stop();
    expect(announced.map((b) => b.map((e) => e.seq))).toEqual([[1]]);
    store.release();
    await Promise.all([pending, stopped]);
  });
});
