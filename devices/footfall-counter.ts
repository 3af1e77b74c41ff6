/**
 * Footfall counter at an entrance (overhead stereo sensor). JSON only: a `count` event closing
 * every minute with the people who went in and out in it, zero when the site is closed, and a
 * heartbeat every ten minutes. A hall's occupancy is the running sum of in − out of its counters.
 */
import { z } from 'zod';
import { FootfallModel } from './shared/footfall.ts';
import { heartbeatSchema, Periodic } from './shared/heartbeat.ts';
import { eventFields, jsonOnly, type JsonCodec } from './shared/json.ts';
import { Outbox, type Timed } from './shared/outbox.ts';
import { uniform } from './shared/random.ts';
import { isAllDay, localTime, MINUTE_MS } from './shared/time.ts';
import type { DeviceType, SimEnvironment, SimulatedDevice } from './types.ts';

const ID = 'footfall-counter';
const EVENTS = ['count', 'heartbeat'] as const;

const countEventSchema = z.object({
  type: z.literal('count'),
  in: z.number().int().min(0),
  out: z.number().int().min(0),
  /** Seconds the counts cover. */
  period: z.number().int().positive(),
  ...eventFields,
});

const schema = z.discriminatedUnion('type', [countEventSchema, heartbeatSchema({})]);
const codec: JsonCodec = { typeId: ID, events: EVENTS, schema };

const { decode, encode } = jsonOnly(codec);

const PERIOD_MS = MINUTE_MS;
const HEARTBEAT_MS = 10 * MINUTE_MS;

/** The people one counter's zone holds when the site model gives no capacity. */
const DEFAULT_CAPACITY_SHARE = 60;

function simulate(env: SimEnvironment): SimulatedDevice {
  const { random } = env;
  // People cross a hotel lobby or wait in it for a quarter of an hour; shoppers stay about twenty minutes.
  const stay = isAllDay(env.openingHours) ? uniform(random, 8, 20) : uniform(random, 15, 35);
  // Arrivals sized so the crowd at the busiest hour fills 55–75 % of the place (Little's law:
  // people inside = arrivals per minute × minutes of stay): over capacity only by chance.
  const peakCrowd = (env.countsCapacity ?? DEFAULT_CAPACITY_SHARE) * uniform(random, 0.55, 0.75);
  const model = new FootfallModel(random, peakCrowd / stay, stay);
  model.occupancy = Math.max(0, Math.round(env.countsCrowd ?? 0));
  // Counts close on wall-clock minutes, as counters bin them.
  const counts = new Periodic(PERIOD_MS, PERIOD_MS, true);
  const heartbeat = new Periodic(HEARTBEAT_MS, uniform(random, 0, HEARTBEAT_MS));
  const outbox = new Outbox('json', random);

  return {
    boot(simNow) {
      const at = simNow.getTime();
      counts.start(at);
      heartbeat.start(at);
      return outbox.send([{ at, event: { type: 'heartbeat' } }]);
    },
    advance(simNow, elapsedMs) {
      if (!(elapsedMs > 0)) return [];
      const to = simNow.getTime();
      const from = to - elapsedMs;
      const items: Timed[] = [];
      for (const at of counts.due(from, to)) {
        const { in: entered, out } = model.period(localTime(at - PERIOD_MS, env.timeZone).hour, PERIOD_MS / MINUTE_MS, env.openingHours);
        items.push({ at, event: { type: 'count', in: entered, out, period: PERIOD_MS / 1000 } });
      }
      for (const at of heartbeat.due(from, to)) items.push({ at, event: { type: 'heartbeat' } });
      return outbox.send(items);
    },
    command() {
      return [];
    },
    act(action, simNow) {
      const at = simNow.getTime();
      return action === 'heartbeat' ? outbox.send([{ at, event: { type: 'heartbeat' } }]) : [];
    },
  };
}

export const footfallCounter: DeviceType = {
  id: ID,
  label: { en: 'Footfall counter', 'zh-CN': '客流计数器' },
  idPrefix: 'counter',
  capabilities: ['count', 'heartbeat'],
  events: EVENTS,
  schema,
  formats: ['json'],
  // It reports counts every minute, zero or not: a minute of silence already means trouble.
  heartbeatIntervalS: PERIOD_MS / 1000,
  // One count a minute, but counters keep their counts through an outage and upload the backlog
  // on reconnect: a burst of 2000 takes a whole day of minute counts (1,440 + heartbeats) at
  // once, and 20/s drains a longer backlog in minutes.
  rateBudget: { perSecond: 20, burst: 2000 },
  decode,
  encode,
  simulate,
  examples: [
    { format: 'json', event: { type: 'count', in: 12, out: 9, period: 60, seq: 7 } },
    { format: 'json', event: { type: 'count', in: 0, out: 0, period: 60, seq: 8, ts: '2026-11-23T23:00:00Z' } },
    { format: 'json', event: { type: 'heartbeat', seq: 9, ts: '2026-11-23T23:05:00Z' } },
  ],
};
