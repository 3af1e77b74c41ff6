/** The AA55 frame codec on its own: envelope, sign-magnitude numbers, BCD identities. */
import { describe, expect, it } from 'vitest';
import {
  aa55Bytes,
  aa55Checksum,
  buildAa55Frame,
  decodeAa55,
  encodeAa55,
  formatProtocolVersion,
  fromSignMagnitude16,
  parseAa55Frame,
  parseProtocolVersion,
  toSignMagnitude16,
  type Aa55Message,
} from '../../devices/shared/aa55.ts';

describe('AA55 codec', () => {
  it('writes RSRP as sign-magnitude: -78 dBm is 0x804E', () => {
    expect(toSignMagnitude16(-78)).toBe(0x804e);
    expect(fromSignMagnitude16(0x804e)).toBe(-78);
    expect(toSignMagnitude16(17)).toBe(0x0011);
    expect(fromSignMagnitude16(0x8000)).toBe(0);
    expect(() => toSignMagnitude16(40_000)).toThrow(RangeError);
  });

  it('sums the bytes after AA55 for the checksum', () => {
    const frame = Buffer.from('AA5501030A010000000000280C000043', 'hex');
    expect(aa55Checksum(frame, 2, frame.length - 1)).toBe(0x43);
    expect(buildAa55Frame({ deviceType: 1, command: 3, data: frame.subarray(5, -1) })).toEqual(frame);
    expect(parseAa55Frame(frame)).toMatchObject({ ok: true, frame: { deviceType: 1, command: 3 } });
  });

  it('round-trips every message kind, including register identities', () => {
    const messages: Aa55Message[] = [
      { command: 'heartbeat', status: 0, sensorParams: 0xdeadbeef, batteryMv: 2999, cellId: 0x0fffffff, rsrp: -140, pci: 503, sinr: -12, ecl: 2, csq: 99 },
      { command: 'alarm', status: 0x8001, sensorParams: 7, batteryMv: 3300, reserved: 0xabcd },
      {
        command: 'register',
        model: 1,
        protocolVersion: 0x10,
        module: 0x1a,
        imsi: '460113003123456',
        vendor: 2,
        hardwareVersion: 3,
        softwareVersion: 21,
        iccid: '89860321247720123456',
      },
      { command: 'register', model: 0, protocolVersion: 0x21, module: 0, imsi: '001010123456789', vendor: 0, hardwareVersion: 0, softwareVersion: 0, iccid: '8986032124772012345' },
    ];
    for (const message of messages) expect(decodeAa55(encodeAa55(message))).toEqual({ ok: true, message });
  });

  it('pads the IMSI with a leading 0 nibble and a short ICCID with F', () => {
    const frame = encodeAa55({
      command: 'register',
      model: 1,
      protocolVersion: 0x10,
      module: 0,
      imsi: '460111234567890',
      vendor: 0,
      hardwareVersion: 0,
      softwareVersion: 0,
      iccid: '8986112123456789012',
    });
    expect(frame.subarray(8, 16).toString('hex')).toBe('0460111234567890');
    expect(frame.subarray(19, 29).toString('hex').toUpperCase()).toBe('8986112123456789012F');
    expect(frame).toHaveLength(30);
  });

  it('refuses fields that do not fit', () => {
    const base = { command: 'alarm', status: 1, sensorParams: 0, batteryMv: 3000, reserved: 0 } as const;
    expect(() => encodeAa55({ ...base, batteryMv: 70_000 })).toThrow(RangeError);
    expect(() => encodeAa55({ ...base, status: -1 })).toThrow(RangeError);
    expect(() =>
      encodeAa55({ command: 'register', model: 1, protocolVersion: 0x10, module: 0, imsi: '1234567890123456', vendor: 0, hardwareVersion: 0, softwareVersion: 0, iccid: '' }),
    ).toThrow(RangeError);
  });

  it('finds frames sent as raw bytes or hex text, and nothing in JSON', () => {
    const raw = Buffer.from('AA5501030A010000000000280C000043', 'hex');
    expect(aa55Bytes(raw)).toEqual({ ok: true, bytes: raw });
    expect(aa55Bytes(Buffer.from('aa 55 01 03 0a 01 00 00 00 00 00 28 0c 00 00 43'))).toEqual({ ok: true, bytes: raw });
    expect(aa55Bytes(Buffer.from('{"type":"door","state":"open"}'))).toBeNull();
    expect(aa55Bytes(Buffer.alloc(0))).toBeNull();
    expect(aa55Bytes(Buffer.from('AA55G0'))).toMatchObject({ ok: false, code: 'STW_ERR_FRAME_MALFORMED' });
  });

  it('reads protocol versions as major.minor nibbles', () => {
    expect(formatProtocolVersion(0x10)).toBe('1.0');
    expect(parseProtocolVersion('1.0')).toBe(0x10);
    expect(parseProtocolVersion('V2.3')).toBe(0x23);
    expect(() => parseProtocolVersion('one')).toThrow(RangeError);
  });
});
