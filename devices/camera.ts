/**
 * IP camera with motion detection. JSON only: `motion` events when people move in view (busy
 * lobbies and corridors by day, quiet offices at night) and a heartbeat every ten minutes.
 * Answers `{"id","cmd":"snapshot"}` on its cmd topic with a JPEG on `snapshot/{id}`.
 */
import { z } from 'zod';
import { guestRoomDoorRate, publicTraffic, workingHours } from './shared/activity.ts';
import { nextArrival } from './shared/arrivals.ts';
import { heartbeatSchema, Periodic } from './shared/heartbeat.ts';
import { eventFields, jsonOnly, type JsonCodec } from './shared/json.ts';
import { Outbox, type Timed } from './shared/outbox.ts';
import { pick, poisson, uniform } from './shared/random.ts';
import { renderSnapshotPlan, type SnapshotPlan } from './shared/snapshot.ts';
import { isWithin, localTime, MINUTE_MS, SECOND_MS, type Hours } from './shared/time.ts';
import type { DeviceType, MotionEvent, SimEnvironment, SimulatedDevice } from './types.ts';

const ID = 'camera';
const EVENTS = ['motion', 'heartbeat'] as const;

const motionEventSchema = z.object({
  type: z.literal('motion'),
  zone: z.string().min(1).max(64).optional(),
  confidence: z.number().min(0).max(1).optional(),
  label: z.string().min(1).max(64).optional(),
  ...eventFields,
});

const schema = z.discriminatedUnion('type', [motionEventSchema, heartbeatSchema({})]);
const codec: JsonCodec = { typeId: ID, events: EVENTS, schema };

const { decode, encode } = jsonOnly(codec);

/** Motion triggers per hour: people passing, plus a rare false trigger (shadows, insects) anywhere. */
export function motionRate(zoneKind: string, hour: number, opening: Hours): number {
  const staffed = isWithin(hour, workingHours(opening));
  switch (zoneKind) {
    case 'lobby':
    case 'entrance':
    case 'hall':
      return 40 * publicTraffic(hour, opening) + 0.05;
    case 'corridor':
    case 'stairs':
      return 20 * publicTraffic(hour, opening) + 0.05;
    case 'room':
      return 3 * guestRoomDoorRate(hour) + 0.05;
    case 'office':
    case 'cash-room':
    case 'storage':
    case 'service':
      return staffed ? 6 : 0.05;
    default:
      return 10 * publicTraffic(hour, opening) + 0.05;
  }
}

/** Detection areas a camera in such a zone is typically set up with. */
const AREAS: Record<string, readonly [string, ...string[]]> = {
  room: ['door', 'bed'],
  lobby: ['entrance', 'reception', 'lifts'],
  corridor: ['corridor', 'lifts'],
  entrance: ['doorway', 'queue'],
  hall: ['aisle', 'checkout', 'shelves'],
  office: ['desk', 'door'],
  'cash-room': ['safe', 'door'],
  storage: ['shelves', 'door'],
};

/** Detectors re-arm after a few seconds; one person walking through is one event, not ten. */
const RETRIGGER_MS = 10 * SECOND_MS;
const HEARTBEAT_MS = 10 * MINUTE_MS;
/** Command ids become an MQTT topic level, so they must not hold '/', '+', '#' or NUL. */
const COMMAND_ID = /^[A-Za-z0-9_.-]{1,128}$/;

function simulate(env: SimEnvironment): SimulatedDevice {
  const { random } = env;
  const areas = AREAS[env.zoneKind] ?? ['view'];
  const rate = (ms: number): number => motionRate(env.zoneKind, localTime(ms, env.timeZone).hour, env.openingHours);
  const heartbeat = new Periodic(HEARTBEAT_MS, uniform(random, 0, HEARTBEAT_MS));
  const outbox = new Outbox('json', random);
  let quietUntil = -Infinity;
  let lastMotion = -Infinity;

  const motion = (): MotionEvent => ({
    type: 'motion',
    zone: pick(random, areas),
    confidence: Math.round(uniform(random, 0.55, 0.99) * 100) / 100,
    label: 'person',
  });

  return {
    boot(simNow) {
      const at = simNow.getTime();
      heartbeat.start(at);
      return outbox.send([{ at, event: { type: 'heartbeat' } }]);
    },
    advance(simNow, elapsedMs) {
      if (!(elapsedMs > 0)) return [];
      const to = simNow.getTime();
      const items: Timed[] = [];
      let t = Math.max(to - elapsedMs, quietUntil);
      for (;;) {
        const at = nextArrival(random, t, to, rate);
        if (at === null) break;
        items.push({ at, event: motion() });
        lastMotion = at;
        t = quietUntil = at + RETRIGGER_MS;
      }
      for (const at of heartbeat.due(to - elapsedMs, to)) items.push({ at, event: { type: 'heartbeat' } });
      return outbox.send(items);
    },
    command(cmd, simNow, takenAt = simNow) {
      if (cmd.cmd !== 'snapshot' || typeof cmd.id !== 'string' || !COMMAND_ID.test(cmd.id)) return [];
      const at = simNow.getTime();
      // The scene (light, people) follows the simulated day; the overlay shows when it was taken.
      const scene = localTime(at, env.timeZone);
      const taken = localTime(takenAt.getTime(), env.timeZone);
      // People in view: about as many as pass in a few minutes, at least one right after motion.
      const people = Math.max(at >= lastMotion && at - lastMotion < 30 * SECOND_MS ? 1 : 0, poisson(random, rate(at) / 15));
      const plan: SnapshotPlan = { label: env.label, time: taken.text, takenAt: takenAt.toISOString(), hour: scene.hour, zoneKind: env.zoneKind, people, seed: Math.floor(random() * 2 ** 32) };
      const subtopic = `snapshot/${cmd.id}`;
      if (env.pictures) return [{ kind: 'raw-pending', subtopic, payload: env.pictures.render(plan) }];
      return [{ kind: 'raw', subtopic, payload: renderSnapshotPlan(plan) }];
    },
    act(action, simNow) {
      const at = simNow.getTime();
      if (action === 'motion') {
        lastMotion = at;
        quietUntil = Math.max(quietUntil, at + RETRIGGER_MS);
        return outbox.send([{ at, event: motion() }]);
      }
      if (action === 'heartbeat') return outbox.send([{ at, event: { type: 'heartbeat' } }]);
      return [];
    },
  };
}

export const camera: DeviceType = {
  id: ID,
  label: { en: 'Camera', 'zh-CN': '摄像头' },
  idPrefix: 'cam',
  capabilities: ['motion', 'snapshot', 'heartbeat'],
  events: EVENTS,
  schema,
  formats: ['json'],
  heartbeatIntervalS: HEARTBEAT_MS / 1000,
  // Motion comes in bursts: a crowd crossing a lobby trips every detection area at once, and a
  // camera catching up after a network drop uploads its queued detections together. Detectors
  // re-arm after seconds, so 10/s sustained is far above any real scene.
  rateBudget: { perSecond: 10, burst: 300 },
  decode,
  encode,
  simulate,
  examples: [
    { format: 'json', event: { type: 'motion', zone: 'bed', seq: 3 } },
    { format: 'json', event: { type: 'motion', zone: 'reception', confidence: 0.87, label: 'person', seq: 4, ts: '2026-11-23T02:14:09Z' } },
    { format: 'json', event: { type: 'heartbeat', seq: 5, ts: '2026-11-23T02:20:00Z' } },
  ],
};
