/**
 * What a Frigate NVR is to StoreTwin, for tests (its MQTT broker is a real Mosquitto:
 * ./mosquitto.ts): a stand-in of its HTTP API answering
 * the calls StoreTwin makes with Frigate's shapes: `POST /api/events/{camera}/{label}/create`
 * → `{success, message, event_id}` (404 `{success: false, message}` for an unknown camera),
 * `GET /api/events/{id}/snapshot.jpg` (404 `{success: false, message: "Event … not found"}` until
 * Frigate has written it) and `GET /api/{camera}/latest.jpg`, with real JPEGs.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { mulberry32 } from '../../devices/shared/random.ts';
import { renderSnapshot } from '../../devices/shared/snapshot.ts';

// ---- Frigate's HTTP API ------------------------------------------------------------------------

export interface FrigateApiOptions {
  cameras: readonly string[];
  /** How many GETs of a new manual event's snapshot answer 404 before it is written. */
  snapshotDelayGets?: number;
  /** Never write manual events' snapshots (a Frigate that fails to). */
  noEventSnapshots?: boolean;
  /** Answer latest.jpg 404 too. */
  noLatest?: boolean;
}

export interface SeenCall {
  method: string;
  path: string;
  body: unknown;
  /** For a created event: the event_id answered. */
  eventId?: string;
}

export interface FrigateApi {
  url: string;
  /** Every call, in order. */
  readonly calls: SeenCall[];
  /** Makes a tracked object's snapshot available (as Frigate has one for each detection). */
  addDetection(eventId: string, camera: string): Buffer;
  /** The JPEG served for an event id (created or added), if any. */
  pictureOf(eventId: string): Buffer | undefined;
  /** The JPEG latest.jpg serves for a camera. */
  latestOf(camera: string): Buffer;
  close(): Promise<void>;
}

function jpegFor(label: string, seed: number): Buffer {
  return renderSnapshot({ label, time: '2026-11-30 02:14:07', hour: 2, zoneKind: 'hall', people: 1, random: mulberry32(seed) });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

export async function startFrigateApi(opts: FrigateApiOptions): Promise<FrigateApi> {
  const calls: SeenCall[] = [];
  const events = new Map<string, { camera: string; jpeg: Buffer; getsUntilReady: number }>();
  const latest = new Map<string, Buffer>();
  let seed = 1;
  const latestOf = (camera: string): Buffer => {
    let jpeg = latest.get(camera);
    if (!jpeg) {
      jpeg = jpegFor(`${camera} latest`, seed++);
      latest.set(camera, jpeg);
    }
    return jpeg;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://frigate');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        // keep the text
      }
      const call: SeenCall = { method: req.method ?? '', path: `${url.pathname}${url.search}`, body };
      calls.push(call);
      const parts = url.pathname.split('/').map((p) => decodeURIComponent(p));
      // POST /api/events/{camera}/{label}/create
      if (req.method === 'POST' && parts.length === 6 && parts[1] === 'api' && parts[2] === 'events' && parts[5] === 'create') {
        const camera = parts[3] as string;
        if (!opts.cameras.includes(camera)) return json(res, 404, { success: false, message: `${camera} is not a valid camera.` });
        const now = Date.now() / 1000;
        const id = `${now.toFixed(6)}-${randomBytes(3).toString('hex')}`;
        call.eventId = id;
        if (!opts.noEventSnapshots) events.set(id, { camera, jpeg: jpegFor(`${camera} ${parts[4]}`, seed++), getsUntilReady: opts.snapshotDelayGets ?? 0 });
        return json(res, 200, { success: true, message: 'Successfully created event.', event_id: id });
      }
      // GET /api/events/{id}/snapshot.jpg
      if (req.method === 'GET' && parts.length === 5 && parts[1] === 'api' && parts[2] === 'events' && parts[4] === 'snapshot.jpg') {
        const id = parts[3] as string;
        const e = events.get(id);
        if (!e || e.getsUntilReady > 0) {
          if (e) e.getsUntilReady -= 1;
          return json(res, 404, { success: false, message: `Event ${id} not found` });
        }
        res.setHeader('content-type', 'image/jpeg');
        return res.end(e.jpeg);
      }
      // GET /api/{camera}/latest.jpg
      if (req.method === 'GET' && parts.length === 4 && parts[1] === 'api' && parts[3] === 'latest.jpg') {
        const camera = parts[2] as string;
        if (opts.noLatest || !opts.cameras.includes(camera)) return json(res, 404, { success: false, message: 'Camera not found' });
        res.setHeader('content-type', 'image/jpeg');
        return res.end(latestOf(camera));
      }
      json(res, 404, { detail: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    addDetection(eventId, camera) {
      const jpeg = jpegFor(`${camera} person`, seed++);
      events.set(eventId, { camera, jpeg, getsUntilReady: 0 });
      return jpeg;
    },
    pictureOf: (id) => events.get(id)?.jpeg,
    latestOf,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
