/**
 * What every `--via` wire shares: a simulated device's messages become the adapter's canonical
 * `AdapterMessage`s, which the adapter's own `render` turns into what the platform or the device
 * system would send (the inverse of what the server's `parse` reads). The wire then delivers the
 * rendered request its own way (push.ts POSTs it, serve.ts answers polls with it, publish.ts
 * publishes it).
 *
 * What a platform carries is read from the adapter's own examples rather than its name: one
 * whose examples hold a `frame` carries the device's own bytes (a carrier platform's APPdata or
 * data point), and gets every event as the device type's binary frame when the type has one
 * (AA55), else as its JSON; one whose examples hold a `status` reports connectivity. Any other
 * gets canonical events, and what its `render` cannot express (a heartbeat in an ISAPI alert)
 * is skipped and counted, not sent.
 */
import type { DeviceEvent, DeviceType } from '../../devices/types.ts';
import type { Adapter, AdapterMessage, AdapterState, PushRequest } from '../../server/integrations/adapters/types.ts';
import { errorMessage, type DeviceLink, type LinkHooks, type LinkMessage, type LinkState, type SentMessage } from '../link.ts';
import type { ExternalIds } from './external-ids.ts';

export interface ViaProfile {
  /** Events travel as the device's own bytes (`frame`), decoded by the server with the type's codec. */
  frames: boolean;
  /** The platform reports a device online and offline. */
  status: boolean;
}

/** What the adapter's examples show it carries. */
export function profileOf(adapter: Adapter<unknown>): ViaProfile {
  const kinds = new Set(adapter.examples.flatMap((e) => e.expect.map((m) => m.body.kind)));
  return { frames: kinds.has('frame'), status: kinds.has('status') };
}

/** The event types a platform without frames was shown carrying (its examples' events). */
export function eventTypesOf(adapter: Adapter<unknown>): Set<string> {
  return new Set(adapter.examples.flatMap((e) => e.expect.flatMap((m) => (m.body.kind === 'events' ? m.body.events.map((ev) => ev.type) : []))));
}

/** How one wire delivers a rendered request; resolves with the other end's answer. */
export interface ViaWire {
  /** Delivers one device's request; calls for one device come in order, one at a time. */
  deliver(deviceId: string, request: PushRequest, message: SentMessage): Promise<{ ok: true } | { ok: false; error: string }>;
}

export interface ViaContext {
  adapter: Adapter<unknown>;
  /** The adapter's settings, through its settingsSchema (OneNET signs with its token). */
  settings: unknown;
  /** Render state shared by every device, as the server keeps one per integration (Axis totals). */
  state: AdapterState;
  profile: ViaProfile;
  /** The device's ids on the platform (its adapter key first). */
  idsOf(deviceId: string): ExternalIds;
  /** Only these event types are sent (Axis: counts; Frigate: motion); all when undefined. */
  eventTypes?: ReadonlySet<string>;
  /**
   * Whether devices greet and say goodbye (status on connect and stop). Off for one-shot
   * actions: `--open` through CTWing is one frame, not an online report around it.
   */
  presence: boolean;
  /** What `topic` shows for a delivered message, e.g. `POST /api/ingest/ctwing`. */
  topic: string;
  wire: ViaWire;
}

/** Longest body text shown in a message line; the rest is elided. */
const SHOWN_BODY_CHARS = 600;

/**
 * One platform-timestamp per message and device, strictly increasing (a platform dedupes by
 * device and timestamp: CTWing without an uplink counter, OneNET), to the millisecond and never
 * behind the real clock. Never moved ahead either: two runs of `simulate` a moment apart (an
 * --open, then a --close) must not land on the same stamp, or the second is a retransmission.
 */
export class Stamps {
  private readonly last = new Map<string, number>();

  next(deviceId: string, now = Date.now()): string {
    const t = Math.max(now, (this.last.get(deviceId) ?? 0) + 1);
    this.last.set(deviceId, t);
    return new Date(t).toISOString();
  }
}

export class ViaLink implements DeviceLink {
  state: LinkState = 'connecting';
  readonly ready: Promise<'connected' | 'failed'>;
  private readonly requests = new WeakMap<SentMessage, PushRequest>();
  /** The last battery voltage the device reported, for binary frames that need one. */
  private battery: number | undefined;
  /** Deliveries of this device, one after the other: a door's close must not overtake its open. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly device: { id: string; type: DeviceType },
    private readonly ctx: ViaContext,
    private readonly stamps: Stamps,
    hooks: LinkHooks,
  ) {
    this.ready = (async () => {
      // Never call a hook from inside open(): the engine has not stored the link yet.
      await Promise.resolve();
      this.state = 'connected';
      try {
        await hooks.connected();
      } catch (err) {
        hooks.error(errorMessage(err));
      }
      return 'connected' as const;
    })();
  }

  prepare(message: LinkMessage, qos: 0 | 1): SentMessage | { skip: string } {
    const made = this.adapterMessage(message);
    if ('skip' in made) return made;
    let request: PushRequest;
    try {
      request = this.ctx.adapter.render(made.message, { settings: this.ctx.settings, state: this.ctx.state, now: Date.now() });
    } catch (err) {
      // What the platform's format cannot say (a heartbeat in an ISAPI alert) is not sent.
      return { skip: errorMessage(err) };
    }
    const frame = made.message.body.kind === 'frame' ? made.message.body.payload : undefined;
    // A frame shows what the server's codec will read from it (a JSON firmware's event
    // re-encoded as AA55 carries the voltage and no seq), anything else the event as sent.
    const decoded = frame ? this.device.type.decode(frame) : undefined;
    const event = decoded?.ok && decoded.events.length === 1 ? decoded.events[0] : message.kind === 'event' ? message.event : undefined;
    const sent: SentMessage = {
      deviceId: this.device.id,
      topic: this.ctx.topic,
      payload: request.body,
      ...(event ? { event } : {}),
      retain: false,
      qos,
      text: showBody(request, frame, event),
    };
    this.requests.set(sent, request);
    return sent;
  }

  observe(message: LinkMessage): void {
    if (message.kind === 'event') this.learn(message.event);
  }

  deliver(message: SentMessage): Promise<{ ok: true } | { ok: false; error: string }> {
    const request = this.requests.get(message);
    if (!request) return Promise.resolve({ ok: false, error: 'not prepared by this link' });
    const run = this.queue.then(() => this.ctx.wire.deliver(this.device.id, request, message));
    this.queue = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      const error = errorMessage(err);
      message.failed = error;
      return { ok: false as const, error };
    });
  }

  async close(options: { drop: boolean; timeoutMs: number }): Promise<void> {
    this.state = options.drop ? 'offline' : 'stopped';
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue, new Promise((resolve) => (timer = setTimeout(resolve, options.timeoutMs)))]);
    clearTimeout(timer);
  }

  private adapterMessage(message: LinkMessage): { message: AdapterMessage } | { skip: string } {
    const { adapter, profile } = this.ctx;
    const ids = this.ctx.idsOf(this.device.id);
    switch (message.kind) {
      case 'raw':
        return { skip: `${adapter.id} does not carry ${message.subtopic}` };
      case 'status':
        if (!profile.status) return { skip: `${adapter.id} does not report devices online or offline` };
        if (!this.ctx.presence && message.why !== 'lost') return { skip: 'one-shot: no online report around the action' };
        return { message: { ids, body: { kind: 'status', online: message.online }, at: this.stamps.next(this.device.id) } };
      case 'event': {
        const { event } = message;
        this.learn(event);
        if (this.ctx.eventTypes && !this.ctx.eventTypes.has(event.type)) return { skip: `${adapter.id} does not carry ${event.type} events` };
        const at = this.stamps.next(this.device.id);
        if (profile.frames) return { message: { ids, body: { kind: 'frame', payload: this.frameOf(event) }, at } };
        // The platform's time is the event's: a count's window ends when it is sent.
        const stamped: DeviceEvent = event.ts === undefined ? event : { ...event, ts: at };
        return { message: { ids, body: { kind: 'events', events: [stamped] }, at, describe: { name: this.device.id } } };
      }
    }
  }

  private learn(event: DeviceEvent): void {
    if ('battery' in event && typeof event.battery === 'number') this.battery = event.battery;
  }

  /**
   * The device's own bytes for an event: its type's binary frame when it has one and the event
   * fits it (a frame that needs the battery voltage gets the one the device last reported),
   * else the event as the type's JSON.
   */
  private frameOf(event: DeviceEvent): Buffer {
    const { type } = this.device;
    if (type.formats.includes('binary')) {
      try {
        return type.encode(event, 'binary');
      } catch {
        if (this.battery !== undefined && !('battery' in event && event.battery !== undefined)) {
          try {
            return type.encode({ ...event, battery: this.battery } as DeviceEvent, 'binary');
          } catch {
            // Not a frame this protocol has (a tamper in AA55): JSON below.
          }
        }
      }
    }
    return type.encode(event, 'json');
  }
}

/** The rendered body as a person reads it: text on one line (shortened), or its size. */
function showBody(request: PushRequest, frame: Buffer | undefined, event: DeviceEvent | undefined): string {
  const text = request.body.toString('utf8');
  const printable = ![...text].some((c) => c === '\ufffd' || (c < ' ' && c !== '\n' && c !== '\r' && c !== '\t'));
  let shown = printable && !request.contentType.startsWith('multipart/') ? text.replace(/\s*\n\s*/g, ' ').trim() : `<${request.contentType || 'body'}, ${request.body.length} bytes>`;
  if (shown.length > SHOWN_BODY_CHARS) shown = `${shown.slice(0, SHOWN_BODY_CHARS)}…`;
  const parts = [shown];
  if (frame) parts.push(`frame ${frame[0] === 0x7b ? frame.toString('utf8') : frame.toString('hex').toUpperCase()}`);
  if (event) parts.push(`= ${JSON.stringify(event)}`);
  return parts.join('  ');
}
