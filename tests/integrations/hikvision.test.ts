/**
 * Hikvision ISAPI event push at adapter level: the published people-counting alert as it is,
 * realTime totals turned into deltas, smart events into motion, pictures from multipart bodies,
 * MAC and channel matching, and every malformed body refused with a code, never a throw.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../server/errors.ts';
import { hikvision, normalizeMac, PEOPLE_COUNTING_FIXTURE, REALTIME_FRESH_S } from '../../server/integrations/adapters/hikvision.ts';
import { getAdapter } from '../../server/integrations/adapters/index.ts';
import { buildMultipart } from '../../server/integrations/adapters/multipart.ts';
import type { AdapterMessage, AdapterState, ParseResult, PushRequest } from '../../server/integrations/adapters/types.ts';
import { adminToken, eventually, startTestApp, type TestApp } from '../helpers/app.ts';

const FIXTURE = readFileSync(new URL('../fixtures/platforms/hikvision-isapi-peoplecounting.xml', import.meta.url));
const FIXTURE_TEXT = FIXTURE.toString('utf8');
const JPEG = hikvision.examples.find((e) => e.expect[0]?.picture)!.expect[0]!.picture!;

type Settings = { channels?: Record<string, string> };

function xml(body: string | Buffer, contentType = 'application/xml'): PushRequest {
  return { method: 'POST', body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), contentType, query: {} };
}

async function parse(req: PushRequest, settings: Settings = {}, state: AdapterState = {}): Promise<ParseResult> {
  return hikvision.parse(req, { settings, state, now: Date.parse('2026-11-23T02:20:00Z') });
}

async function messages(req: PushRequest, settings: Settings = {}, state: AdapterState = {}): Promise<AdapterMessage[]> {
  const r = await parse(req, settings, state);
  if (!r.ok) throw new Error(`refused ${r.code}: ${r.message}`);
  return r.messages;
}

async function refusal(req: PushRequest, settings: Settings = {}): Promise<{ code: string; message: string }> {
  const r = await parse(req, settings);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r).slice(0, 300)}`);
  return { code: r.code, message: r.message };
}

/** An alert in the shape devices send; `inner` replaces everything after eventState. */
function alert(opts: { type: string; inner?: string; mac?: string; channel?: string; dateTime?: string; state?: string; ns?: string }): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="${opts.ns ?? 'http://www.hikvision.com/ver20/XMLSchema'}">
<ipAddress>192.168.1.64</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
${opts.mac === '' ? '' : `<macAddress>${opts.mac ?? '44:47:cc:50:00:c1'}</macAddress>`}
<channelID>${opts.channel ?? '1'}</channelID>
<dateTime>${opts.dateTime ?? '2026-11-23T10:00:00+08:00'}</dateTime>
<activePostCount>1</activePostCount>
<eventType>${opts.type}</eventType>
<eventState>${opts.state ?? 'active'}</eventState>
<eventDescription>${opts.type} alarm</eventDescription>
${opts.inner ?? '<channelName>Camera 01</channelName>'}
</EventNotificationAlert>`;
}

function realTime(time: string, enter: number | string, exit: number | string, extra = ''): string {
  return alert({
    type: 'PeopleCounting',
    dateTime: time,
    inner: `<channelName>Camera 01</channelName>
<peopleCounting><statisticalMethods>realTime</statisticalMethods><RealTime><time>${time}</time></RealTime>
<enter>${enter}</enter><exit>${exit}</exit><pass>50</pass>${extra}</peopleCounting>`,
  });
}

function timeRange(start: string, end: string, enter: number | string, exit: number | string, pass = '0'): string {
  return alert({
    type: 'PeopleCounting',
    dateTime: end,
    inner: `<peopleCounting><statisticalMethods>timeRange</statisticalMethods>
<TimeRange><startTime>${start}</startTime><endTime>${end}</endTime></TimeRange>
<enter>${enter}</enter><exit>${exit}</exit><pass>${pass}</pass></peopleCounting>`,
  });
}

const REGION = (id: string): string =>
  `<DetectionRegionList><DetectionRegionEntry><regionID>${id}</regionID><sensitivityLevel>50</sensitivityLevel>
<RegionCoordinatesList><RegionCoordinates><positionX>1</positionX><positionY>2</positionY></RegionCoordinates></RegionCoordinatesList>
</DetectionRegionEntry></DetectionRegionList><channelName>Lobby</channelName>`;

function countOf(m: AdapterMessage | undefined): unknown {
  if (!m || m.body.kind !== 'events') return undefined;
  return m.body.events[0];
}

describe('hikvision adapter', () => {
  it('is in the catalogue as a push adapter matching by the hikvision external id', () => {
    expect(getAdapter('hikvision')).toBe(hikvision);
    expect(hikvision.delivery).toBe('push');
    expect(hikvision.externalIdKeys).toEqual(['hikvision']);
  });

  it('parses the published people-counting alert, bytes as they are, into a count for its MAC', async () => {
    // The example the contract suite and the API docs use is that same file, byte for byte.
    expect(Buffer.from(PEOPLE_COUNTING_FIXTURE, 'utf8').equals(FIXTURE)).toBe(true);
    for (const contentType of ['application/xml', 'text/xml; charset=utf-8', '', 'application/x-www-form-urlencoded']) {
      const [m, ...rest] = await messages(xml(FIXTURE, contentType));
      expect(rest).toEqual([]);
      expect(m).toEqual({
        ids: { hikvision: '44:47:cc:50:00:c1' },
        at: '2020-04-19T19:35:00+02:00',
        body: { kind: 'events', events: [{ type: 'count', in: 0, out: 0, period: 120, ts: '2020-04-19T19:35:00+02:00' }] },
        dedupeKey: '44:47:cc:50:00:c1:1:2020-04-19T19:35:00+02:00:timeRange',
        describe: { ipAddress: '10.60.108.22', channelID: '1', channelName: 'Camera 01' },
      });
    }
  });

  it('parses every example to what it promises', async () => {
    for (const example of hikvision.examples) {
      const got = await messages(example.request, example.settings as Settings);
      expect(got, example.name).toEqual(example.expect);
    }
  });

  it('counts timeRange enter/exit over the range, keeps pass out of footfall, dedupes a re-sent alert', async () => {
    const body = timeRange('2026-11-23T09:59:00+08:00', '2026-11-23T10:00:00+08:00', 7, 3, '41');
    const [first] = await messages(xml(body));
    expect(countOf(first)).toEqual({ type: 'count', in: 7, out: 3, period: 60, ts: '2026-11-23T10:00:00+08:00' });
    const [again] = await messages(xml(body));
    expect(again!.dedupeKey).toBe(first!.dedupeKey);
    const [next] = await messages(xml(timeRange('2026-11-23T10:00:00+08:00', '2026-11-23T10:01:00+08:00', 1, 0)));
    expect(next!.dedupeKey).not.toBe(first!.dedupeKey);
  });

  it('keeps the device offset in at and ts, and writes +0800 as +08:00', async () => {
    const [m] = await messages(xml(timeRange('2026-11-23T09:59:00+0800', '2026-11-23T10:00:00+0800', 1, 1)));
    expect(m!.at).toBe('2026-11-23T10:00:00+08:00');
    expect(countOf(m)).toMatchObject({ ts: '2026-11-23T10:00:00+08:00', period: 60 });
    // A device without a configured offset writes local time: no instant can be told, so the
    // server's time of arrival stands (no at, no ts) while the period is still right.
    const [local] = await messages(xml(timeRange('2026-11-23T09:59:00', '2026-11-23T10:00:00', 1, 1)));
    expect(local!.at).toBeUndefined();
    expect(countOf(local)).toEqual({ type: 'count', in: 1, out: 1, period: 60 });
  });

  describe('realTime running totals', () => {
    it('takes the first report as the baseline, then counts deltas with the period between reports', async () => {
      const state: AdapterState = {};
      const first = await parse(xml(realTime('2026-11-23T10:00:00+08:00', 120, 100)), {}, state);
      expect(first).toMatchObject({ ok: true, messages: [], ignored: expect.stringContaining('baseline') });
      const [m] = await messages(xml(realTime('2026-11-23T10:01:30+08:00', 125, 101)), {}, state);
      expect(countOf(m)).toEqual({ type: 'count', in: 5, out: 1, period: 90, ts: '2026-11-23T10:01:30+08:00' });
      expect(m!.dedupeKey).toBe('44:47:cc:50:00:c1:1:2026-11-23T10:01:30+08:00:realTime');
      const [same] = await messages(xml(realTime('2026-11-23T10:02:30+08:00', 125, 101)), {}, state);
      expect(countOf(same)).toMatchObject({ in: 0, out: 0, period: 60 });
    });

    it('starts again from the new totals after a reset (midnight, reboot), never negative', async () => {
      const state: AdapterState = {};
      await parse(xml(realTime('2026-11-23T23:58:00+08:00', 900, 880)), {}, state);
      const [m] = await messages(xml(realTime('2026-11-24T00:03:00+08:00', 4, 1)), {}, state);
      expect(countOf(m)).toMatchObject({ in: 4, out: 1, period: 300 });
      // Only one total dropped (nobody left yet since the reset): still a reset, both restart.
      await messages(xml(realTime('2026-11-24T08:00:00+08:00', 30, 10)), {}, state);
      const [reboot] = await messages(xml(realTime('2026-11-24T08:05:00+08:00', 2, 12)), {}, state);
      expect(countOf(reboot)).toMatchObject({ in: 2, out: 12 });
    });

    it('ignores a report older than the last one (a retransmission) without moving the totals', async () => {
      const state: AdapterState = {};
      await parse(xml(realTime('2026-11-23T10:00:00+08:00', 10, 10)), {}, state);
      await parse(xml(realTime('2026-11-23T10:05:00+08:00', 20, 15)), {}, state);
      const old = await parse(xml(realTime('2026-11-23T10:02:00+08:00', 14, 12)), {}, state);
      expect(old).toMatchObject({ ok: true, messages: [], ignored: expect.stringContaining('older') });
      const [m] = await messages(xml(realTime('2026-11-23T10:06:00+08:00', 21, 15)), {}, state);
      expect(countOf(m)).toMatchObject({ in: 1, out: 0, period: 60 });
    });

    it(`counts the first report whole when it is within ${REALTIME_FRESH_S / 60} minutes after the device's midnight`, async () => {
      const [m] = await messages(xml(realTime('2026-11-24T00:04:10+08:00', 6, 2)), {}, {});
      expect(countOf(m)).toMatchObject({ in: 6, out: 2, period: 250 });
      const late = await parse(xml(realTime('2026-11-24T00:10:01+08:00', 6, 2)), {}, {});
      expect(late).toMatchObject({ ok: true, messages: [] });
    });

    it('keeps counters apart by MAC, channel and counting region', async () => {
      const state: AdapterState = {};
      const push = (mac: string, channel: string, time: string, enter: number, region = ''): PushRequest =>
        xml(
          alert({
            type: 'PeopleCounting',
            mac,
            channel,
            dateTime: time,
            inner: `<peopleCounting><statisticalMethods>realTime</statisticalMethods><RealTime><time>${time}</time></RealTime>
<enter>${enter}</enter><exit>0</exit>${region ? `<regionsID>${region}</regionsID>` : ''}</peopleCounting>`,
          }),
        );
      for (const [mac, ch, region, base] of [['aa:aa:aa:aa:aa:01', '1', '', 100], ['aa:aa:aa:aa:aa:01', '2', '', 200], ['aa:aa:aa:aa:aa:02', '1', '', 300], ['aa:aa:aa:aa:aa:01', '1', '2', 400]] as const) {
        await parse(push(mac, ch, '2026-11-23T10:00:00+08:00', base, region), {}, state);
      }
      const one = await messages(push('aa:aa:aa:aa:aa:01', '1', '2026-11-23T10:01:00+08:00', 101), {}, state);
      const two = await messages(push('aa:aa:aa:aa:aa:01', '2', '2026-11-23T10:01:00+08:00', 203), {}, state);
      const other = await messages(push('aa:aa:aa:aa:aa:02', '1', '2026-11-23T10:01:00+08:00', 305), {}, state);
      const region = await messages(push('aa:aa:aa:aa:aa:01', '1', '2026-11-23T10:01:00+08:00', 407, '2'), {}, state);
      expect([one, two, other, region].map((m) => (countOf(m[0]) as { in: number }).in)).toEqual([1, 3, 5, 7]);
      expect(region[0]!.dedupeKey).toBe('aa:aa:aa:aa:aa:01:1:2026-11-23T10:01:00+08:00:realTime:2');
    });
  });

  describe('smart events', () => {
    it('turns active line crossing, intrusion, region entrance/exit and VMD into motion labelled by type, zoned by region', async () => {
      for (const [sent, label] of [
        ['linedetection', 'linedetection'],
        ['fielddetection', 'fielddetection'],
        ['regionEntrance', 'regionEntrance'],
        ['regionExiting', 'regionExiting'],
        ['VMD', 'VMD'],
        ['LineDetection', 'linedetection'],
      ] as const) {
        const [m] = await messages(xml(alert({ type: sent, inner: REGION('3') })));
        expect(m!.body, sent).toEqual({ kind: 'events', events: [{ type: 'motion', label, zone: '3' }] });
        expect(m!.at).toBe('2026-11-23T10:00:00+08:00');
        expect(m!.dedupeKey).toBe(`44:47:cc:50:00:c1:1:2026-11-23T10:00:00+08:00:${label}:3`);
      }
    });

    it('zones by the channel name when the alert names no region, and without a zone when neither', async () => {
      const [named] = await messages(xml(alert({ type: 'VMD' })));
      expect(named!.body).toEqual({ kind: 'events', events: [{ type: 'motion', label: 'VMD', zone: 'Camera 01' }] });
      const [bare] = await messages(xml(alert({ type: 'VMD', inner: '' })));
      expect(bare!.body).toEqual({ kind: 'events', events: [{ type: 'motion', label: 'VMD' }] });
    });

    it('ignores inactive states, heartbeats, video loss and other event types (answered 200)', async () => {
      expect(await parse(xml(alert({ type: 'VMD', state: 'inactive' })))).toEqual({ ok: true, messages: [], ignored: 'VMD inactive' });
      expect(await parse(xml(alert({ type: 'videoloss', state: 'inactive' })))).toEqual({ ok: true, messages: [], ignored: 'eventType videoloss is not used' });
      expect(await parse(xml(alert({ type: 'heartBeat', state: 'inactive' })))).toEqual({ ok: true, messages: [], ignored: 'eventType heartBeat is not used' });
      expect(await parse(xml(alert({ type: 'shelteralarm' })))).toMatchObject({ ok: true, messages: [], ignored: expect.stringContaining('shelteralarm') });
    });
  });

  describe('devices: MAC and channel mapping', () => {
    it('normalises MAC spellings to one form', () => {
      for (const spelling of ['44-47-CC-50-00-C1', '4447cc5000c1', '44:47:cc:50:00:c1', ' 44:47:CC:50:00:C1 ', '4447.cc50.00c1']) {
        expect(normalizeMac(spelling), spelling).toBe('44:47:cc:50:00:c1');
      }
      for (const bad of ['', '44:47:cc:50:00', '44:47:cc:50:00:c1:02', 'zz:47:cc:50:00:c1']) expect(normalizeMac(bad), bad).not.toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    });

    it('names the device by its normalised MAC; refuses a MAC that is not one', async () => {
      const [m] = await messages(xml(alert({ type: 'VMD', mac: '44-47-CC-50-00-C1' })));
      expect(m!.ids).toEqual({ hikvision: '44:47:cc:50:00:c1' });
      expect(await refusal(xml(alert({ type: 'VMD', mac: 'not-a-mac' })))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA', message: expect.stringContaining('macAddress') });
    });

    it("falls back to the integration's channel map (an NVR pushes for all its cameras with one MAC)", async () => {
      const settings = { channels: { '33': 'entrance-cam', '34': 'cash-cam' } };
      const [m] = await messages(xml(alert({ type: 'VMD', channel: '34' })), settings);
      expect(m).toMatchObject({ ids: { hikvision: '44:47:cc:50:00:c1' }, fallbackDevice: 'cash-cam' });
      const [unmapped] = await messages(xml(alert({ type: 'VMD', channel: '35' })), settings);
      expect(unmapped!.fallbackDevice).toBeUndefined();
      const [noMac] = await messages(xml(alert({ type: 'VMD', channel: '33', mac: '' })), settings);
      expect(noMac).toMatchObject({ ids: {}, fallbackDevice: 'entrance-cam', describe: { channelID: '33' } });
    });

    it('validates settings: channel numbers to device ids, nothing else', () => {
      expect(hikvision.settingsSchema.safeParse({}).success).toBe(true);
      expect(hikvision.settingsSchema.safeParse({ channels: { '1': 'door-cam' } }).success).toBe(true);
      expect(hikvision.settingsSchema.safeParse({ channels: { one: 'door-cam' } }).success).toBe(false);
      expect(hikvision.settingsSchema.safeParse({ channels: { '1': 'Door Cam' } }).success).toBe(false);
      expect(hikvision.settingsSchema.safeParse({ channel: { '1': 'door-cam' } }).success).toBe(false);
    });
  });

  describe('namespaces and spelling', () => {
    it('reads the alert whatever its namespace or prefix', async () => {
      const plain = FIXTURE_TEXT.replace(' xmlns="urn:psialliance-org"', '');
      const hik = FIXTURE_TEXT.replace('urn:psialliance-org', 'http://www.hikvision.com/ver20/XMLSchema');
      const isapi = FIXTURE_TEXT.replace('urn:psialliance-org', 'http://www.isapi.org/ver20/XMLSchema');
      const prefixed = FIXTURE_TEXT.replace(' xmlns="urn:psialliance-org"', ' xmlns:hik="urn:psialliance-org"').replace(/<(\/?)([A-Za-z])/g, '<$1hik:$2');
      expect(prefixed).toContain('<hik:peopleCounting>');
      for (const body of [plain, hik, isapi, prefixed, `\uFEFF${FIXTURE_TEXT}`]) {
        const [m] = await messages(xml(body));
        expect(countOf(m)).toMatchObject({ type: 'count', period: 120 });
      }
    });
  });

  describe('multipart with pictures', () => {
    const lineXml = Buffer.from(alert({ type: 'linedetection', inner: REGION('1') }));

    it('takes the XML part and the JPEG beside it as the picture (form-data and mixed)', async () => {
      const built = buildMultipart([
        { name: 'linedetection', contentType: 'application/xml; charset="UTF-8"', body: lineXml },
        { name: 'linedetectionImage', filename: 'linedetectionImage.jpg', contentType: 'image/jpeg', body: JPEG },
      ]);
      for (const contentType of [built.contentType, built.contentType.replace('form-data', 'mixed'), '']) {
        const [m] = await messages(xml(built.body, contentType));
        expect(m!.body).toEqual({ kind: 'events', events: [{ type: 'motion', label: 'linedetection', zone: '1' }] });
        expect(m!.picture?.equals(JPEG), contentType).toBe(true);
      }
    });

    it('finds the XML part by its .xml name when it has no Content-Type, and keeps the largest JPEG', async () => {
      const small = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(10)]);
      const body = Buffer.concat([
        Buffer.from('--MIME_boundary\r\nContent-Disposition: form-data; name="MoveDetection.xml"; filename="MoveDetection.xml"\r\n\r\n'),
        lineXml,
        Buffer.from('\r\n--MIME_boundary\r\nContent-Disposition: form-data; name="plate"; filename="plate.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'),
        small,
        Buffer.from('\r\n--MIME_boundary\r\nContent-Disposition: form-data; name="scene"; filename="scene.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'),
        JPEG,
        Buffer.from('\r\n--MIME_boundary--\r\n'),
      ]);
      const [m] = await messages(xml(body, 'multipart/form-data; boundary=MIME_boundary'));
      expect(m!.picture?.equals(JPEG)).toBe(true);
    });

    it('drops a picture that is not a JPEG and still delivers the event', async () => {
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
      const built = buildMultipart([
        { name: 'linedetection', contentType: 'application/xml', body: lineXml },
        { name: 'linedetectionImage', filename: 'linedetectionImage.jpg', contentType: 'image/jpeg', body: png },
      ]);
      const [m] = await messages(xml(built.body, built.contentType));
      expect(m!.picture).toBeUndefined();
      expect(m!.body.kind).toBe('events');
    });

    it('refuses multipart without an XML part, without a boundary, or cut short', async () => {
      const pictureOnly = buildMultipart([{ name: 'img', filename: 'a.jpg', contentType: 'image/jpeg', body: JPEG }]);
      expect(await refusal(xml(pictureOnly.body, pictureOnly.contentType))).toMatchObject({ code: 'STW_ERR_PUSH_SCHEMA', message: expect.stringContaining('no XML part') });
      expect((await refusal(xml(pictureOnly.body, 'multipart/form-data'))).code).toBe('STW_ERR_PUSH_MALFORMED');
      const built = buildMultipart([
        { name: 'linedetection', contentType: 'application/xml', body: lineXml },
        { name: 'linedetectionImage', filename: 'linedetectionImage.jpg', contentType: 'image/jpeg', body: JPEG },
      ]);
      expect((await refusal(xml(built.body.subarray(0, built.body.length - 100), built.contentType))).code).toBe('STW_ERR_PUSH_MALFORMED');
    });
  });

  describe('refusals', () => {
    it('refuses truncated XML (the fixture cut anywhere inside its root) as malformed', async () => {
      const end = FIXTURE_TEXT.indexOf('</EventNotificationAlert>');
      for (const cut of [40, 100, FIXTURE_TEXT.indexOf('<peopleCounting>') + 5, end - 1, end + 10]) {
        expect((await refusal(xml(FIXTURE_TEXT.slice(0, cut)))).code, `cut at ${cut}`).toBe('STW_ERR_PUSH_MALFORMED');
      }
      expect((await refusal(xml('{"eventType":"PeopleCounting"}', 'application/json'))).code).toBe('STW_ERR_PUSH_MALFORMED');
      expect((await refusal(xml(`${FIXTURE_TEXT}<EventNotificationAlert/>`))).code).toBe('STW_ERR_PUSH_MALFORMED');
    });

    it('refuses XML that is not an EventNotificationAlert, or misses what the event needs, as schema', async () => {
      const cases: [string, string][] = [
        ['<ResponseStatus><statusCode>1</statusCode></ResponseStatus>', 'not an ISAPI EventNotificationAlert'],
        [FIXTURE_TEXT.replace('<enter>0</enter>', '<enter>many</enter>'), 'enter'],
        [FIXTURE_TEXT.replace('<exit>0</exit>', '<exit>-3</exit>'), 'exit'],
        [FIXTURE_TEXT.replace('<enter>0</enter>', '<enter>12345678901234567890</enter>'), 'enter'],
        [FIXTURE_TEXT.replace('<enter>0</enter>', '<enter>1e3</enter>'), 'enter'],
        [FIXTURE_TEXT.replace('<enter>0</enter>', '<enter><n>1</n></enter>'), 'enter'],
        [FIXTURE_TEXT.replace('<exit>0</exit>', '<exit>0</exit><exit>1</exit>'), 'exit'],
        [FIXTURE_TEXT.replace(/<dateTime>[^<]*<\/dateTime>/, '<dateTime>yesterday</dateTime>'), 'datetime'],
        [FIXTURE_TEXT.replace(/<dateTime>[^<]*<\/dateTime>/, ''), 'datetime'],
        [FIXTURE_TEXT.replace(/<eventType>[^<]*<\/eventType>/, ''), 'eventtype'],
        [FIXTURE_TEXT.replace(/<TimeRange>[\s\S]*<\/TimeRange>/, ''), 'TimeRange'],
        [FIXTURE_TEXT.replace('19:33:00+02:00', '19:36:00+02:00'), 'after startTime'],
        [FIXTURE_TEXT.replace(/<statisticalMethods>[^<]*<\/statisticalMethods>/, ''), 'statisticalmethods'],
        [FIXTURE_TEXT.replace('<channelID>1</channelID>', '<channelID>first</channelID>'), 'channelid'],
        [alert({ type: 'linedetection', inner: '<DetectionRegionList><DetectionRegionEntry><regionID><a/><a/></regionID></DetectionRegionEntry></DetectionRegionList>' }), 'DetectionRegionEntry'],
      ];
      for (const [body, mention] of cases) {
        const r = await refusal(xml(body));
        expect(r.code, mention).toBe('STW_ERR_PUSH_SCHEMA');
        expect(r.message.toLowerCase(), body.slice(0, 80)).toContain(mention.toLowerCase());
      }
    });

    it('never expands entities: DOCTYPE, external entities (XXE) and billion laughs are refused', async () => {
      const xxe = FIXTURE_TEXT.replace('<EventNotificationAlert', '<!DOCTYPE EventNotificationAlert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<EventNotificationAlert').replace(
        'Camera 01',
        '&xxe;',
      );
      const lol =
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
        Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
        ']><EventNotificationAlert><eventType>&lol9;</eventType></EventNotificationAlert>';
      const lowercase = FIXTURE_TEXT.replace('<EventNotificationAlert', '<!doctype x [<!entity a "b">]><EventNotificationAlert');
      for (const body of [xxe, lol, lowercase]) {
        const started = Date.now();
        const r = await refusal(xml(body));
        expect(r.code).toBe('STW_ERR_PUSH_MALFORMED');
        expect(r.message).toContain('DOCTYPE');
        expect(Date.now() - started).toBeLessThan(5_000);
      }
      // An undeclared entity reference is left as text, never looked up.
      const [m] = await messages(xml(FIXTURE_TEXT.replace('Camera 01', 'Cam &amp; &undefined; 01')));
      expect(m!.describe?.channelName).toBe('Cam & &undefined; 01');
    });

    it('answers an empty push or a GET with 200-ignored (the device testing its listening host)', async () => {
      expect(await parse(xml(''))).toEqual({ ok: true, messages: [], ignored: 'empty push' });
      expect(await parse(xml(' \r\n'))).toEqual({ ok: true, messages: [], ignored: 'empty push' });
      expect(await parse({ method: 'GET', body: Buffer.alloc(0), contentType: '', query: {} })).toMatchObject({ ok: true, messages: [] });
    });

    it('never throws: random bytes, mangled and truncated alerts, wrong types all end in a coded answer', async () => {
      const codes = new Set(Object.keys(ERRORS));
      const multipart = buildMultipart([
        { name: 'linedetection', contentType: 'application/xml', body: Buffer.from(alert({ type: 'linedetection', inner: REGION('1') })) },
        { name: 'img', filename: 'img.jpg', contentType: 'image/jpeg', body: JPEG },
      ]);
      const seeds: [Buffer, string][] = [
        [FIXTURE, 'application/xml'],
        [Buffer.from(realTime('2026-11-23T10:00:00+08:00', 1, 1)), 'text/xml'],
        [multipart.body, multipart.contentType],
      ];
      const state: AdapterState = {};
      const check = async (req: PushRequest): Promise<void> => {
        let result: ParseResult | undefined;
        try {
          result = await hikvision.parse(req, { settings: { channels: { '1': 'cam' } }, state, now: 0 });
        } catch (err) {
          throw new Error(`threw on ${req.body.toString('latin1').slice(0, 120)}: ${String(err)}`);
        }
        if (!result.ok) {
          expect(codes.has(result.code)).toBe(true);
          expect(result.message.length).toBeGreaterThan(0);
        }
      };
      for (let i = 0; i < 400; i++) {
        const [seed, contentType] = seeds[i % seeds.length]!;
        const mangled = Buffer.from(seed);
        for (let k = 0; k < 1 + (i % 6); k++) mangled[Math.floor(Math.random() * mangled.length)] = Math.floor(Math.random() * 256);
        await check(xml(mangled.subarray(0, Math.floor(Math.random() * (mangled.length + 1))), contentType));
        await check(xml(randomBytes(i * 3), i % 2 ? 'application/xml' : multipart.contentType));
      }
      // Wrong types where text is expected: every leaf of the fixture replaced by elements, huge numbers, empties.
      for (const tag of ['macAddress', 'channelID', 'dateTime', 'eventType', 'eventState', 'statisticalMethods', 'startTime', 'endTime', 'enter', 'exit', 'pass', 'channelName']) {
        for (const value of ['<x>1</x><x>2</x>', '', '9'.repeat(400), '-1', 'NaN', '<![CDATA[<b>]]>', '&amp;&lt;']) {
          await check(xml(FIXTURE_TEXT.replace(new RegExp(`<${tag}>[^<]*</${tag}>`), `<${tag}>${value}</${tag}>`)));
        }
      }
      await check(xml(`<EventNotificationAlert>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</EventNotificationAlert>`));
      await check(xml(`<__proto__><polluted>1</polluted></__proto__>`));
      await check(xml(FIXTURE_TEXT.replace('<channelName>', '<constructor>1</constructor><channelName>')));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('render', () => {
    const ctx = { settings: { channels: { '34': 'cash-cam' } } as Settings, state: {}, now: Date.parse('2026-11-23T02:20:00Z') };

    it('renders a count as the fixture-shaped timeRange alert that parses back to it', async () => {
      const message: AdapterMessage = {
        ids: { hikvision: '44-47-CC-50-00-C1' },
        body: { kind: 'events', events: [{ type: 'count', in: 12, out: 9, period: 60, ts: '2026-11-23T10:01:00+08:00' }] },
      };
      const req = hikvision.render(message, ctx);
      expect(req.contentType).toBe('application/xml');
      const text = req.body.toString('utf8');
      expect(text).toContain('<EventNotificationAlert version="1.0" xmlns="urn:psialliance-org">');
      expect(text).toContain('<startTime>2026-11-23T10:00:00+08:00</startTime>');
      // Every element of the published example, in its order.
      const tags = (s: string): string[] => [...s.matchAll(/<([A-Za-z]+)>/g)].map((m) => m[1]!);
      expect(tags(text)).toEqual(tags(FIXTURE_TEXT));
      const [back] = await messages(req, ctx.settings);
      expect(back).toMatchObject({ ids: { hikvision: '44:47:cc:50:00:c1' }, at: '2026-11-23T10:01:00+08:00', body: message.body });
    });

    it('renders motion with a picture as multipart, the channel from the map, and parses back', async () => {
      const message: AdapterMessage = {
        ids: { hikvision: 'c0:56:e3:0a:91:5b' },
        fallbackDevice: 'cash-cam',
        at: '2026-11-23T02:15:30+08:00',
        body: { kind: 'events', events: [{ type: 'motion', label: 'fielddetection', zone: '4' }] },
        picture: JPEG,
      };
      const req = hikvision.render(message, ctx);
      expect(req.contentType).toMatch(/^multipart\/form-data; boundary=/);
      expect(req.body.toString('latin1')).toContain('Content-Disposition: form-data; name="fielddetection"');
      const [back] = await messages(req, ctx.settings);
      expect(back).toMatchObject({ ids: message.ids, fallbackDevice: 'cash-cam', at: message.at, body: message.body, describe: { channelID: '34' } });
      expect(back!.picture?.equals(JPEG)).toBe(true);
    });

    it('round-trips every example', async () => {
      for (const example of hikvision.examples) {
        for (const m of example.expect) {
          const settings = example.settings as Settings;
          const [back] = await messages(hikvision.render(m, { settings, state: {}, now: 0 }), settings);
          expect({ ...back, dedupeKey: undefined }, example.name).toEqual({ ...m, dedupeKey: undefined });
        }
      }
    });

    it('refuses to render what an ISAPI alert cannot carry', () => {
      expect(() => hikvision.render({ ids: {}, body: { kind: 'events', events: [{ type: 'door', state: 'open' }] } }, ctx)).toThrow(/door/);
      expect(() => hikvision.render({ ids: {}, body: { kind: 'status', online: true } }, ctx)).toThrow();
    });
  });
});

describe('hikvision through the push endpoint (real app, real SQLite)', () => {
  let t: TestApp;
  let admin: Record<string, string>;
  let pushUrl: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = { authorization: `Bearer ${await adminToken(t.app)}`, 'content-type': 'application/json' };
    const created = await fetch(`${t.httpUrl}/api/integrations`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ adapter: 'hikvision', site: 'demo-shop', settings: { channels: { '34': 'shop-cam-cash' } } }),
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    pushUrl = `${t.httpUrl}/api/ingest/hikvision?token=${encodeURIComponent(token)}`;
    // The south entrance counter, registered with the MAC as a technician might type it.
    for (const device of [
      { id: 'shop-counter-south', site: 'demo-shop', type: 'footfall-counter', zone: 'entrance-south', externalIds: { hikvision: '44-47-CC-50-00-C1' } },
      { id: 'shop-cam-cash', site: 'demo-shop', type: 'camera', zone: 'cash-room' },
    ]) {
      const r = await fetch(`${t.httpUrl}/api/devices`, { method: 'POST', headers: admin, body: JSON.stringify(device) });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => t?.stop());

  const push = (body: Buffer | string, contentType = 'application/xml'): Promise<Response> =>
    fetch(pushUrl, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });

  async function siteState(): Promise<{ zones: Record<string, { occupancy: number | null }>; devices: Record<string, unknown> }> {
    return (await (await fetch(`${t.httpUrl}/api/sites/demo-shop/state`, { headers: admin })).json()) as never;
  }

  it('the published alert as it is, then counted alerts, move the entrance counter and the hall occupancy; a re-sent alert is stored once', async () => {
    const first = await push(FIXTURE);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ accepted: 1, refused: 0, unknown: 0 });

    const counted = FIXTURE_TEXT.replace(/19:33:00/, '19:35:00').replace(/19:35:00\+02:00<\/endTime>/, '19:37:00+02:00</endTime>')
      .replace(/<dateTime>[^<]*/, '<dateTime>2020-04-19T19:37:00+02:00')
      .replace('<enter>0</enter>', '<enter>7</enter>')
      .replace('<exit>0</exit>', '<exit>2</exit>');
    expect(await (await push(counted)).json()).toMatchObject({ accepted: 1 });
    const hall = await eventually(async () => ((await siteState()).zones['sales-hall']?.occupancy === 5 ? 5 : null));
    expect(hall).toBe(5);

    // The device re-sends the same alert (isDataRetransmission after an outage): no double count.
    const again = await push(counted);
    expect(again.status).toBe(200);
    const answer = (await again.json()) as { accepted: number; duplicates: number };
    expect(answer.accepted + answer.duplicates).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect((await siteState()).zones['sales-hall']?.occupancy).toBe(5);
  });

  it('a line crossing with its picture from an NVR channel reaches the mapped camera; malformed pushes are refused with codes', async () => {
    const body = buildMultipart([
      { name: 'linedetection', contentType: 'application/xml; charset="UTF-8"', body: Buffer.from(alert({ type: 'linedetection', channel: '34', mac: 'c0:56:e3:0a:91:5b', inner: REGION('1') })) },
      { name: 'linedetectionImage', filename: 'linedetectionImage.jpg', contentType: 'image/jpeg', body: JPEG },
    ]);
    const r = await push(body.body, body.contentType);
    expect(r.status, await r.clone().text()).toBe(200);
    expect(await r.json()).toMatchObject({ accepted: 1, unknown: 0 });
    const events = await eventually(async () => {
      const res = await fetch(`${t.httpUrl}/api/events?site=demo-shop&device=shop-cam-cash`, { headers: admin });
      const page = (await res.json()) as { items?: { type?: string; event?: { type?: string; label?: string } }[] };
      const items = page.items ?? [];
      return items.length > 0 ? items : null;
    });
    expect(JSON.stringify(events)).toContain('linedetection');

    const truncated = await push(FIXTURE.subarray(0, 200));
    expect(truncated.status).toBe(400);
    expect(((await truncated.json()) as { error: { code: string } }).error.code).toBe('STW_ERR_PUSH_MALFORMED');
    const notAlert = await push('<ResponseStatus><statusCode>1</statusCode></ResponseStatus>');
    expect(notAlert.status).toBe(400);
    expect(((await notAlert.json()) as { error: { code: string } }).error.code).toBe('STW_ERR_PUSH_SCHEMA');
    const heartbeat = await push(alert({ type: 'heartBeat', state: 'inactive' }));
    expect(heartbeat.status).toBe(200);
    expect(await heartbeat.json()).toMatchObject({ accepted: 0, note: 'eventType heartBeat is not used' });
  });
});
