/**
 * OneNET HTTP push adapter: the signed fixtures as they are, the URL check, the signature over
 * the exact text of `msg`, data points and online/offline, refusals, render round trips, fuzz.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { doorSensor } from '../../devices/door-sensor.ts';
import { getAdapter } from '../../server/integrations/adapters/index.ts';
import { onenet, onenetEnvelope, rawMemberText } from '../../server/integrations/adapters/onenet.ts';
import type { AdapterMessage, ParseResult, PushRequest } from '../../server/integrations/adapters/types.ts';
import { assertWellFormed, jsonMutations, randomBodies, truncations } from '../helpers/push-fuzz.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/platforms/${name}`, import.meta.url));
const DATAPOINT = fixture('onenet-push-datapoint.json');
const OFFLINE = fixture('onenet-push-offline.json');
const TOKEN = 'storetwin-onenet-token';
const DEV = 2016548723;

const post = (body: Buffer | string): PushRequest => ({ method: 'POST', body: Buffer.from(body), contentType: 'application/json', query: {} });
const get = (query: Record<string, string>): PushRequest => ({ method: 'GET', body: Buffer.alloc(0), contentType: '', query });

/** The signature rule, written out independently of the adapter. */
const sign = (token: string, nonce: string, text: string): string => createHash('md5').update(`${token}${nonce}${text}`).digest('base64');

async function parse(req: PushRequest, settings: unknown = { token: TOKEN }): Promise<ParseResult> {
  return onenet.parse(req, { settings: onenet.settingsSchema.parse(settings), state: {}, now: Date.UTC(2026, 0, 1) });
}

async function accepted(req: PushRequest, settings?: unknown): Promise<AdapterMessage[]> {
  const result = await parse(req, settings);
  if (!result.ok) throw new Error(`refused: ${result.code} ${result.message}`);
  return result.messages;
}

async function refusal(req: PushRequest, settings?: unknown): Promise<{ code: string; message: string }> {
  const result = await parse(req, settings);
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result)}`);
  return { code: result.code, message: result.message };
}

/** A body signed over `msgText` exactly as given. */
const signedBody = (msgText: string, nonce = 'n1', token = TOKEN): string => `{"msg":${msgText},"msg_signature":"${sign(token, nonce, msgText)}","nonce":"${nonce}"}`;

describe('OneNET adapter', () => {
  it('is in the catalogue, matched by dev_id then IMEI, its token a secret', () => {
    expect(getAdapter('onenet')).toBe(onenet);
    expect(onenet.externalIdKeys).toEqual(['onenet', 'imei']);
    expect(onenet.secretSettings).toEqual(['token']);
  });

  it('its examples include the signed fixtures byte for byte, and parse to what they say', async () => {
    const bodies = onenet.examples.map((e) => e.request.body);
    expect(bodies.some((b) => b.equals(DATAPOINT))).toBe(true);
    expect(bodies.some((b) => b.equals(OFFLINE))).toBe(true);
    for (const example of onenet.examples) {
      const result = await parse(example.request, example.settings);
      expect(result.ok, example.name).toBe(true);
      if (result.ok) expect(result.messages, example.name).toEqual(example.expect);
    }
  });

  describe('URL check (GET)', () => {
    it('echoes msg as text/plain when the signature verifies (the fixture README example)', async () => {
      const result = await parse(get({ msg: 'x7Kq2', nonce: 'n0nceV1', signature: '0OZd638AoYujiULtLRGn9A==' }));
      expect(result).toMatchObject({ ok: true, messages: [], reply: { status: 200, contentType: 'text/plain', body: 'x7Kq2' } });
    });

    it('verifies a signature whose "+" arrived as a space (not percent-encoded by the platform)', async () => {
      // Find a nonce whose signature has a "+": the decoded query turns it into a space.
      let nonce = '';
      for (let i = 0; !sign(TOKEN, nonce, 'abc').includes('+'); i++) nonce = `n${i}`;
      const signature = sign(TOKEN, nonce, 'abc').replaceAll('+', ' ');
      expect((await parse(get({ msg: 'abc', nonce, signature }))).ok).toBe(true);
    });

    it('refuses a wrong signature, another token, or missing parameters', async () => {
      expect((await refusal(get({ msg: 'x7Kq2', nonce: 'n0nceV1', signature: '0OZd638AoYujiULtLRGn9B==' }))).code).toBe('STW_ERR_PUSH_SIGNATURE');
      expect((await refusal(get({ msg: 'x7Kq2', nonce: 'n0nceV1', signature: '0OZd638AoYujiULtLRGn9A==' }), { token: 'another' })).code).toBe('STW_ERR_PUSH_SIGNATURE');
      expect((await refusal(get({ msg: 'x7Kq3', nonce: 'n0nceV1', signature: '0OZd638AoYujiULtLRGn9A==' }))).code).toBe('STW_ERR_PUSH_SIGNATURE');
      expect((await refusal(get({ msg: 'x7Kq2', nonce: 'n0nceV1' }))).code).toBe('STW_ERR_PUSH_SCHEMA');
    });
  });

  describe('data points (type 1)', () => {
    it("the fixture's 3200_0_5750 hex value is the device's frame, decoded by the door sensor codec", async () => {
      const [message, ...rest] = await accepted(post(DATAPOINT));
      expect(rest).toEqual([]);
      expect(message).toMatchObject({ ids: { onenet: String(DEV) }, at: '2024-11-29T05:20:00.123Z', dedupeKey: `${DEV}:1732857600123:3200_0_5750` });
      if (message?.body.kind !== 'frame') throw new Error('not a frame');
      expect(message.body.payload.toString('hex').toUpperCase()).toBe('AA5501030A010000000000280C000043');
      expect(doorSensor.decode(message.body.payload)).toEqual({ ok: true, events: [{ type: 'door', state: 'open', battery: 3.112 }], format: 'binary' });
    });

    it('a bad checksum in the frame passes through untouched; the codec refuses it', async () => {
      const msg = `{"at":1732857600124,"type":1,"ds_id":"3200_0_5750","value":"AA5501030A010000000000280C000044","dev_id":${DEV}}`;
      const [message] = await accepted(post(signedBody(msg)));
      if (message?.body.kind !== 'frame') throw new Error('not a frame');
      expect(message.body.payload.toString('hex').toUpperCase()).toBe('AA5501030A010000000000280C000044');
      const decoded = doorSensor.decode(message.body.payload);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) expect(decoded.code).toBe('STW_ERR_FRAME_CHECKSUM');
    });

    it('a value on the frame stream that is not hex is refused', async () => {
      const msg = `{"at":1,"type":1,"ds_id":"3200_0_5750","value":"door open","dev_id":${DEV}}`;
      const r = await refusal(post(signedBody(msg)));
      expect(r.code).toBe('STW_ERR_PUSH_SCHEMA');
      expect(r.message).toContain('hex');
    });

    it('other streams go through the field map, one device at one instant read together', async () => {
      const settings = { token: TOKEN, fields: { door_state: { to: 'door', values: { '1': 'open', '0': 'closed' } }, rsrp: { to: 'rsrp' }, snr: { to: 'snr' } } };
      const msg = JSON.stringify([
        { at: 1000, type: 1, ds_id: 'door_state', value: 0, dev_id: DEV },
        { at: 1000, type: 1, ds_id: 'rsrp', value: -101, dev_id: DEV, imei: '868334031234567' },
        { at: 2000, type: 1, ds_id: 'snr', value: '4', dev_id: DEV },
        { at: 1000, type: 1, ds_id: 'temperature', value: 21, dev_id: 99 },
      ]);
      const messages = await accepted(post(signedBody(msg)), settings);
      expect(messages).toEqual([
        { ids: { onenet: String(DEV) }, body: { kind: 'events', events: [{ type: 'door', state: 'closed' }, { type: 'heartbeat', rsrp: -101 }] }, at: '1970-01-01T00:00:01.000Z', dedupeKey: `${DEV}:1000:door_state,rsrp`, describe: { platform: 'OneNET' } },
        { ids: { onenet: String(DEV) }, body: { kind: 'events', events: [{ type: 'heartbeat', snr: 4 }] }, at: '1970-01-01T00:00:02.000Z', dedupeKey: `${DEV}:2000:snr`, describe: { platform: 'OneNET' } },
      ]);
    });

    it('a stream with nothing mapped is ignored (answered 200), naming the stream', async () => {
      const result = await parse(post(signedBody(`{"at":1,"type":1,"ds_id":"temperature","value":21,"dev_id":${DEV}}`)));
      expect(result).toEqual({ ok: true, messages: [], ignored: `data streams of ${DEV}: none is in the field map (temperature)` });
    });

    it('frameStreams names another stream that carries frames', async () => {
      const msg = `{"at":5,"type":1,"ds_id":"raw","value":"aa5501030a010000000000280c000043","dev_id":${DEV}}`;
      const [message] = await accepted(post(signedBody(msg)), { token: TOKEN, frameStreams: ['raw'] });
      expect(message?.body.kind).toBe('frame');
    });
  });

  describe('online/offline (type 2) and the rest', () => {
    it('the offline fixture is the device going offline', async () => {
      const [message] = await accepted(post(OFFLINE));
      expect(message).toEqual({
        ids: { onenet: String(DEV) },
        body: { kind: 'status', online: false },
        at: '2024-11-29T05:21:00.456Z',
        dedupeKey: `${DEV}:1732857660456:status`,
        describe: { platform: 'OneNET', loginType: '10' },
      });
    });

    it('status 1 is online; a type 2 without a status is refused', async () => {
      const [up] = await accepted(post(signedBody(`{"at":7,"login_type":10,"type":2,"status":1,"dev_id":${DEV}}`)));
      expect(up?.body).toEqual({ kind: 'status', online: true });
      expect((await refusal(post(signedBody(`{"at":7,"type":2,"dev_id":${DEV}}`)))).code).toBe('STW_ERR_PUSH_SCHEMA');
    });

    it('command results (type 7) and unknown types are ignored with the type named', async () => {
      const result = await parse(post(signedBody(`[{"at":8,"type":7,"cmd_type":1,"cmd_id":"c1","dev_id":${DEV}},{"at":8,"type":9,"dev_id":${DEV}}]`)));
      expect(result).toEqual({ ok: true, messages: [], ignored: 'type 7: a command result, no device state; type 9: a message type StoreTwin does not use' });
    });

    it('an array mixes kinds: frames, status and data points each become their message, in order', async () => {
      const msg = `[{"at":1,"type":2,"status":1,"dev_id":${DEV}},{"at":2,"type":1,"ds_id":"3200_0_5750","value":"AA5501030A010000000000280C000043","dev_id":${DEV}}]`;
      const messages = await accepted(post(signedBody(msg)));
      expect(messages.map((m) => m.body.kind)).toEqual(['status', 'frame']);
    });

    it('a retry of the same push has the same dedupe keys', async () => {
      const first = await accepted(post(DATAPOINT));
      const retry = await accepted(post(DATAPOINT));
      expect(retry.map((m) => m.dedupeKey)).toEqual(first.map((m) => m.dedupeKey));
    });
  });

  describe('the signature over the exact text of msg', () => {
    it('is found in the raw body: spacing and key order as sent are what was signed', async () => {
      const msg = `{ "dev_id" : ${DEV},\n  "type": 2, "status": 0, "at": 1732857660456 }`;
      const [message] = await accepted(post(signedBody(msg)));
      expect(message?.body).toEqual({ kind: 'status', online: false });
      // The same body re-encoded by a proxy (compact) still verifies against that encoding.
      const compact = JSON.stringify(JSON.parse(msg));
      expect((await parse(post(`{"nonce":"n2","msg":${compact},"msg_signature":"${sign(TOKEN, 'n2', compact)}"}`))).ok).toBe(true);
    });

    it('rawMemberText returns the member exactly, strings with braces and escapes included', () => {
      const text = ' {"a":"}\\"{","msg" :\t[ {"x":"]"}, 1 ] , "z":{"msg":2}}';
      expect(rawMemberText(text, 'msg')).toBe('[ {"x":"]"}, 1 ]');
      expect(rawMemberText('{"msg":1,"msg":true}', 'msg')).toBe('true');
      expect(rawMemberText('{"m":1}', 'msg')).toBeUndefined();
      expect(rawMemberText('[1]', 'msg')).toBeUndefined();
    });

    it('refuses the fixture with its signature, nonce or msg altered, or another token', async () => {
      const text = DATAPOINT.toString('utf8');
      const variants = [
        text.replace('lFYZsgwaJBoGaTPXngriag==', 'lFYZsgwaJBoGaTPXngriaa=='),
        text.replace('"nonce":"Zq7pX2aB"', '"nonce":"Zq7pX2aC"'),
        text.replace('280C000043', '280C000042'),
        text.replace('"dev_id":2016548723', '"dev_id":2016548724'),
      ];
      for (const variant of variants) {
        expect(variant).not.toBe(text);
        expect((await refusal(post(variant))).code).toBe('STW_ERR_PUSH_SIGNATURE');
      }
      expect((await refusal(post(DATAPOINT), { token: 'not-the-token' })).code).toBe('STW_ERR_PUSH_SIGNATURE');
      // Re-spacing changes no value: the compact re-encoding is what was signed, so it verifies.
      expect((await parse(post(text.replace('"at":1732857600123', '"at": 1732857600123')))).ok).toBe(true);
    });

    it('a msg sent as JSON text is verified over that text', async () => {
      const inner = `{"at":9,"type":2,"status":1,"dev_id":${DEV}}`;
      const body = `{"msg":${JSON.stringify(inner)},"msg_signature":"${sign(TOKEN, 'n3', inner)}","nonce":"n3"}`;
      const [message] = await accepted(post(body));
      expect(message?.body).toEqual({ kind: 'status', online: true });
    });
  });

  describe('refusals', () => {
    it('truncated or non-JSON bodies are malformed', async () => {
      expect((await refusal(post(DATAPOINT.subarray(0, 60)))).code).toBe('STW_ERR_PUSH_MALFORMED');
      expect((await refusal(post('msg=1&nonce=2'))).code).toBe('STW_ERR_PUSH_MALFORMED');
    });

    it('an encrypted push is refused, saying plaintext mode is what works', async () => {
      const r = await refusal(post('{"enc_msg":"q3l0c2VjcmV0","msg_signature":"abc","nonce":"n"}'));
      expect(r.code).toBe('STW_ERR_PUSH_SCHEMA');
      expect(r.message).toContain('plaintext');
    });

    it('a body that is not the envelope, or a signed msg of the wrong shape, is a schema refusal', async () => {
      expect((await refusal(post('{"msg":{},"nonce":"n"}'))).message).toContain('msg_signature');
      expect((await refusal(post('{"msg_signature":"x","nonce":"n"}'))).message).toContain('msg');
      expect((await refusal(post('[1]'))).code).toBe('STW_ERR_PUSH_SCHEMA');
      for (const msg of ['{"at":1,"type":"1","dev_id":1}', '{"at":-5,"type":2,"status":1,"dev_id":1}', '{"at":1,"type":2,"status":1,"dev_id":1.5}', '{"at":1,"type":1,"value":"AA","dev_id":1}', '"not json"']) {
        const r = await refusal(post(signedBody(msg)));
        expect(r.code, msg).toBe('STW_ERR_PUSH_SCHEMA');
      }
    });

    it('settings need the token and refuse what is not a setting', () => {
      expect(onenet.settingsSchema.safeParse({}).success).toBe(false);
      expect(onenet.settingsSchema.safeParse({ token: TOKEN, aesKey: 'k' }).success).toBe(false);
      expect(onenet.settingsSchema.parse({ token: TOKEN })).toEqual({ token: TOKEN, frameStreams: ['3200_0_5750'], fields: {} });
    });
  });

  describe('render', () => {
    it('parse(render(m)) gives m back for every example, through a freshly signed envelope', async () => {
      for (const example of onenet.examples) {
        const settings = onenet.settingsSchema.parse(example.settings);
        for (const message of example.expect) {
          const req = onenet.render(message, { settings, state: {}, now: 0 });
          const result = await onenet.parse(req, { settings, state: {}, now: 0 });
          expect(result.ok, example.name).toBe(true);
          if (result.ok) expect(result.messages, example.name).toEqual([message]);
        }
      }
    });

    it('signs over the text it writes, as the platform does', () => {
      const body = onenetEnvelope(TOKEN, { at: 1, type: 2, status: 1, dev_id: DEV }, 'abc');
      const parsed = JSON.parse(body.toString('utf8')) as { msg: unknown; msg_signature: string; nonce: string };
      expect(parsed.msg_signature).toBe(sign(TOKEN, 'abc', JSON.stringify(parsed.msg)));
      expect(() => onenet.render({ ids: { ctwing: 'x' }, body: { kind: 'status', online: true } }, { settings: onenet.settingsSchema.parse({ token: TOKEN }), state: {}, now: 0 })).toThrow(RangeError);
    });
  });

  describe('fuzz: parse never throws', () => {
    const check = async (req: PushRequest): Promise<void> => {
      let result: ParseResult;
      try {
        result = await parse(req, { token: TOKEN, fields: { door_state: { to: 'door', values: { '1': 'open' } }, rsrp: { to: 'rsrp' } } });
      } catch (err) {
        throw new Error(`threw on ${JSON.stringify(req.body.toString('utf8').slice(0, 120))}: ${String(err)}`);
      }
      assertWellFormed(result);
    };

    it('every truncation of the fixtures, and random bytes', async () => {
      for (const body of [...truncations(DATAPOINT), ...truncations(OFFLINE), ...randomBodies(11, 300)]) await check(post(body));
    });

    it('every value of the fixtures replaced, signed and unsigned', async () => {
      for (const source of [DATAPOINT, OFFLINE]) {
        const envelope = JSON.parse(source.toString('utf8')) as { msg: unknown };
        for (const doc of jsonMutations(envelope)) await check(post(JSON.stringify(doc)));
        // Signed, so the mutated msg reaches the message parser.
        for (const msg of jsonMutations(envelope.msg)) await check(post(signedBody(JSON.stringify(msg) ?? 'null')));
        for (const msg of jsonMutations([envelope.msg, envelope.msg])) await check(post(signedBody(JSON.stringify(msg) ?? 'null')));
      }
    });

    it('odd GET queries', async () => {
      const queries: Array<Record<string, string>> = [{}, { msg: '' }, { msg: '', nonce: '', signature: '' }, { msg: 'x'.repeat(10000), nonce: '\u0000', signature: '====' }];
      for (const query of queries) await check(get(query));
    });
  });
});
