/**
 * A busy stretch of the demo hotel, cheap to write: every placed device reports on a fixed,
 * deterministic schedule (door sensors a heartbeat an hour and a door opened and closed every
 * two hours, cameras a heartbeat every 10 min and motion every 90 s, the entrance counter a
 * count a minute), about 18,500 events a day, appended in batches of 5,000. A month is ~570k
 * events, the size of the site whose backtest stalled the server (issue 9). For the replay's
 * realism use tests/history/demo-day.ts (the devices' own simulators), which is ~30× slower.
 */
import type { Site } from '../../server/sites/model.ts';
import type { NewEvent, RecordedEvent } from '../../server/storage/types.ts';

const MIN = 60_000;

export interface BusyOptions {
  fromMs: number;
  toMs: number;
  /** Appends one batch (e.g. `app.storage.events.append`). */
  append: (batch: readonly NewEvent[]) => Promise<void>;
  batchSize?: number;
}

/** Writes the site's events in [fromMs, toMs), oldest first; returns how many. */
export async function writeBusyEvents(site: Site, opts: BusyOptions): Promise<number> {
  const batchSize = opts.batchSize ?? 5000;
  const doors = site.devices.filter((d) => d.type === 'door-sensor');
  const cameras = site.devices.filter((d) => d.type === 'camera');
  const counters = site.devices.filter((d) => d.type === 'footfall-counter');
  let batch: NewEvent[] = [];
  let total = 0;
  let seq = 0;
  const push = (p: { id: string; type: string; zone: string }, ms: number, data: RecordedEvent) => {
    const ts = new Date(ms).toISOString();
    batch.push({ site: site.id, device: p.id, deviceType: p.type, zone: p.zone, type: data.type, seq: ++seq, ts, receivedAt: ts, data });
  };
  for (let minute = opts.fromMs - (opts.fromMs % MIN); minute < opts.toMs; minute += MIN) {
    const m = Math.floor(minute / MIN);
    // Spread each device's schedule over the period by its index, so a minute holds a few events.
    doors.forEach((d, i) => {
      const phase = (m + i * 7) % 120;
      if (phase % 60 === 0) push(d, minute, { type: 'heartbeat', battery: 3.1, rsrp: -90, snr: 7, door: 'closed' } as RecordedEvent);
      if (phase === 30) push(d, minute + 1000, { type: 'door', state: 'open', battery: 3.1 } as RecordedEvent);
      if (phase === 31) push(d, minute + 2000, { type: 'door', state: 'closed', battery: 3.1 } as RecordedEvent);
    });
    cameras.forEach((c, i) => {
      if ((m + i) % 10 === 0) push(c, minute, { type: 'heartbeat' } as RecordedEvent);
      // Motion every 90 s: :00 of one minute, :30 of the next, none in the third.
      const k = (m + i) % 3;
      if (k < 2) push(c, minute + k * 30_000, { type: 'motion', zone: 'corridor', confidence: 0.8, label: 'person' } as RecordedEvent);
    });
    for (const c of counters) {
      push(c, minute, { type: 'count', in: m % 5, out: (m + 2) % 5, period: 60 } as RecordedEvent);
      if (m % 10 === 0) push(c, minute, { type: 'heartbeat' } as RecordedEvent);
    }
    if (batch.length >= batchSize) {
      batch.sort((a, b) => a.ts.localeCompare(b.ts));
      await opts.append(batch);
      total += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) {
    batch.sort((a, b) => a.ts.localeCompare(b.ts));
    await opts.append(batch);
    total += batch.length;
  }
  return total;
}
