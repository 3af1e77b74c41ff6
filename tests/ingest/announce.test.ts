/**
 * Ingest hands accepted events to the twin and the rules (`events.accepted`) while their commit
 * is still running, once per turn; the device's acknowledgement still waits for the commit, and
 * a commit that fails lets the retransmission through as a new message.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.ts';
import { EventBus } from '../../server/events.ts';
import { Ingest, type SiteRelay } from '../../server/ingest/ingest.ts';
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

function setup(relay?: SiteRelay): { ingest: Ingest; store: HeldStore; announced: NewEvent[][]; metrics: Metrics } {
  const config = parseConfig({});
  const store = new HeldStore();
  const bus = new EventBus();
  const announced: NewEvent[][] = [];
  bus.on('events.accepted', (batch) => announced.push([...batch]));
  const metrics = new Metrics({ processMetrics: false });
  const ingest = new Ingest({ config: { ...config.ingest, maxEventBytes: config.broker.maxEventBytes }, events: store, bus, logger: createLogger({ level: 'silent' }), metrics, ...(relay ? { relay } : {}) });
  return { ingest, store, announced, metrics };
}

const door = (state: 'open' | 'closed', seq: number) => Buffer.from(JSON.stringify({ type: 'door', state, seq }));
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Ingest in a worker of several, for a site another worker holds', () => {
  it('hands the events to the holder once stored, and does not announce them here', async () => {
    const sent: Array<{ site: string; events: readonly NewEvent[] }> = [];
    const { ingest, store, announced } = setup({ holds: () => false, send: async (site, events) => void sent.push({ site, events }) });
    const accepted = ingest.acceptUplink(DOOR, door('open', 1));
    await turn();
    await turn();
    expect(sent).toEqual([]);
    store.release();
    expect(await accepted).toMatchObject({ stored: 1 });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ site: 'demo-hotel', events: [{ device: 'door-1', type: 'door', seq: 1 }] });
    await turn();
    expect(announced).toEqual([]);
  });

  it('a relay that fails is counted; the push still succeeds (the events are stored)', async () => {
    const { ingest, store, metrics } = setup({ holds: () => false, send: () => Promise.reject(new Error('broker gone')) });
    const accepted = ingest.acceptUplink(DOOR, door('open', 1));
    await turn();
    store.release();
    expect(await accepted).toMatchObject({ stored: 1 });
    const refusals = await metrics.refusals.get();
    expect(refusals.values.find((v) => v.labels.code === 'STW_ERR_RELAY_FAILED')?.value).toBe(1);
  });

  it('at the holder: relayed events are announced, and their seqs are duplicates when MQTT brings them again', async () => {
    const { ingest, store, announced } = setup({ holds: () => true, send: () => Promise.reject(new Error('not called')) });
    const ts = '2026-11-29T08:00:00.000Z';
    ingest.acceptRelayed([{ site: 'demo-hotel', device: 'door-1', deviceType: 'door-sensor', zone: '2-14', type: 'door', seq: 7, ts, receivedAt: new Date().toISOString(), data: { type: 'door', state: 'open', seq: 7 } }]);
    await turn();
    expect(announced.flat().map((e) => e.seq)).toEqual([7]);
    expect(await ingest.acceptUplink(DOOR, door('open', 7))).toMatchObject({ stored: 0, duplicates: 1 });
    expect(store.waiting).toBe(0);
  });
});

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
