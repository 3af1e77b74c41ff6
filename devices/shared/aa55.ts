/**
 * The "AA55" binary protocol of NB-IoT door magnets (MC-N01 family, Quectel BC26 module), as
 * documented in tests/fixtures/door-magnet-aa55.md:
 *
 *   AA 55 | device type (1) | command (1) | length (1) | data (length) | checksum (1)
 *
 * checksum = sum of the bytes after AA55 up to the checksum, mod 256; numbers little-endian.
 * Exported for the door sensor type, its tests and simulators that build frames by hand.
 * Decoding never throws: a frame with a bad checksum, a wrong length, an unknown command or
 * trailing bytes is refused with its STW_ERR_FRAME_* code and never becomes an event.
 */

export const AA55_HEADER = [0xaa, 0x55] as const;
/** Device type byte of the NB door magnet. */
export const AA55_DOOR_MAGNET = 0x01;
export const AA55_COMMANDS = { heartbeat: 0x02, alarm: 0x03, register: 0x06 } as const;
export type Aa55CommandName = keyof typeof AA55_COMMANDS;
/** Data length each command must declare. */
export const AA55_DATA_LENGTHS: Readonly<Record<Aa55CommandName, number>> = { heartbeat: 20, alarm: 10, register: 24 };
/** Status bit 0: 1 = door open, 0 = closed. */
export const AA55_STATUS_OPEN = 0x0001;
/** Header, device type, command, length and checksum around the data. */
export const AA55_OVERHEAD = 6;

export type Aa55ErrorCode = 'STW_ERR_FRAME_CHECKSUM' | 'STW_ERR_FRAME_LENGTH' | 'STW_ERR_FRAME_UNKNOWN_COMMAND' | 'STW_ERR_FRAME_MALFORMED';
export interface Aa55Error {
  ok: false;
  code: Aa55ErrorCode;
  message: string;
}

/** The envelope: which device and command, and the data bytes, checked but not interpreted. */
export interface Aa55Frame {
  deviceType: number;
  command: number;
  data: Buffer;
}

export interface Aa55Heartbeat {
  command: 'heartbeat';
  status: number;
  /** Vendor-specific sensor parameters; carried through, not interpreted. */
  sensorParams: number;
  batteryMv: number;
  cellId: number;
  /** dBm, decoded from sign-magnitude. */
  rsrp: number;
  pci: number;
  /** dB. The notes say u16; negative values use RSRP's sign-magnitude form (an assumption). */
  sinr: number;
  ecl: number;
  csq: number;
}

export interface Aa55Alarm {
  command: 'alarm';
  status: number;
  sensorParams: number;
  batteryMv: number;
  reserved: number;
}

export interface Aa55Register {
  command: 'register';
  model: number;
  /** Byte as sent: 0x10 = V1.0 (major in the high nibble). */
  protocolVersion: number;
  module: number;
  /** Up to 15 digits. */
  imsi: string;
  vendor: number;
  hardwareVersion: number;
  softwareVersion: number;
  /** Up to 20 BCD digits; a shorter ICCID is padded with F on the wire. */
  iccid: string;
}

export type Aa55Message = Aa55Heartbeat | Aa55Alarm | Aa55Register;

const fail = (code: Aa55ErrorCode, message: string): Aa55Error => ({ ok: false, code, message });
const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0').toUpperCase()}`;

/** Sum of `bytes[start..end)` mod 256. */
export function aa55Checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  return sum;
}

/** -78 → 0x804E: bit 15 is the sign, bits 0..14 the magnitude. */
export function toSignMagnitude16(value: number): number {
  const magnitude = Math.abs(Math.round(value));
  if (magnitude > 0x7fff) throw new RangeError(`${value} does not fit a 16-bit sign-magnitude field`);
  return value < 0 ? 0x8000 | magnitude : magnitude;
}

export function fromSignMagnitude16(raw: number): number {
  const magnitude = raw & 0x7fff;
  // A "negative zero" is zero, not -0, so events compare equal.
  return raw & 0x8000 && magnitude !== 0 ? -magnitude : magnitude;
}

export function buildAa55Frame(frame: Aa55Frame): Buffer {
  if (frame.data.length > 0xff) throw new RangeError(`AA55 data is ${frame.data.length} bytes; the length field holds at most 255`);
  const out = Buffer.alloc(frame.data.length + AA55_OVERHEAD);
  out[0] = AA55_HEADER[0];
  out[1] = AA55_HEADER[1];
  out[2] = frame.deviceType & 0xff;
  out[3] = frame.command & 0xff;
  out[4] = frame.data.length;
  frame.data.copy(out, 5);
  out[out.length - 1] = aa55Checksum(out, 2, out.length - 1);
  return out;
}

/** Checks the envelope: header, declared length against the bytes, checksum, no trailing bytes. */
export function parseAa55Frame(bytes: Uint8Array): { ok: true; frame: Aa55Frame } | Aa55Error {
  if (bytes[0] !== AA55_HEADER[0] || bytes[1] !== AA55_HEADER[1]) return fail('STW_ERR_FRAME_MALFORMED', 'frame does not start with AA55');
  if (bytes.length < AA55_OVERHEAD) {
    return fail('STW_ERR_FRAME_LENGTH', `frame is ${bytes.length} bytes, shorter than the ${AA55_OVERHEAD}-byte envelope`);
  }
  const declared = bytes[4] ?? 0;
  const expected = declared + AA55_OVERHEAD;
  if (bytes.length < expected) {
    return fail('STW_ERR_FRAME_LENGTH', `length byte says ${declared} data bytes but the frame is truncated (${bytes.length} of ${expected} bytes)`);
  }
  if (bytes.length > expected) {
    return fail('STW_ERR_FRAME_MALFORMED', `${bytes.length - expected} trailing bytes after the ${expected}-byte frame`);
  }
  const sum = aa55Checksum(bytes, 2, expected - 1);
  const got = bytes[expected - 1] ?? 0;
  if (sum !== got) return fail('STW_ERR_FRAME_CHECKSUM', `checksum is ${hex2(got)}, the bytes sum to ${hex2(sum)}`);
  return {
    ok: true,
    frame: { deviceType: bytes[2] ?? 0, command: bytes[3] ?? 0, data: Buffer.from(bytes.subarray(5, expected - 1)) },
  };
}

function commandName(command: number): Aa55CommandName | undefined {
  for (const [name, code] of Object.entries(AA55_COMMANDS)) if (code === command) return name as Aa55CommandName;
  return undefined;
}

/** BCD digits as sent, most significant nibble first. */
function bcdToString(data: Buffer): string {
  return data.toString('hex').toUpperCase();
}

/** A full frame (raw bytes) → the message it carries. Never throws. */
export function decodeAa55(bytes: Uint8Array): { ok: true; message: Aa55Message } | Aa55Error {
  const parsed = parseAa55Frame(bytes);
  if (!parsed.ok) return parsed;
  const { deviceType, command, data } = parsed.frame;
  const name = commandName(command);
  if (name === undefined) {
    return fail('STW_ERR_FRAME_UNKNOWN_COMMAND', `command ${hex2(command)} is not register (0x06), heartbeat (0x02) or alarm (0x03)`);
  }
  if (deviceType !== AA55_DOOR_MAGNET) {
    return fail('STW_ERR_FRAME_MALFORMED', `device type ${hex2(deviceType)} is not a door magnet (0x01)`);
  }
  if (data.length !== AA55_DATA_LENGTHS[name]) {
    return fail('STW_ERR_FRAME_LENGTH', `${name} data must be ${AA55_DATA_LENGTHS[name]} bytes, the frame declares ${data.length}`);
  }
  switch (name) {
    case 'heartbeat':
      return {
        ok: true,
        message: {
          command: 'heartbeat',
          status: data.readUInt16LE(0),
          sensorParams: data.readUInt32LE(2),
          batteryMv: data.readUInt16LE(6),
          cellId: data.readUInt32LE(8),
          rsrp: fromSignMagnitude16(data.readUInt16LE(12)),
          pci: data.readUInt16LE(14),
          sinr: fromSignMagnitude16(data.readUInt16LE(16)),
          ecl: data.readUInt8(18),
          csq: data.readUInt8(19),
        },
      };
    case 'alarm':
      return {
        ok: true,
        message: {
          command: 'alarm',
          status: data.readUInt16LE(0),
          sensorParams: data.readUInt32LE(2),
          batteryMv: data.readUInt16LE(6),
          reserved: data.readUInt16LE(8),
        },
      };
    case 'register':
      return {
        ok: true,
        message: {
          command: 'register',
          model: data.readUInt8(0),
          protocolVersion: data.readUInt8(1),
          module: data.readUInt8(2),
          // 16 nibbles, the first a 0 pad before the 15-digit IMSI.
          imsi: bcdToString(data.subarray(3, 11)).slice(1),
          vendor: data.readUInt8(11),
          hardwareVersion: data.readUInt8(12),
          softwareVersion: data.readUInt8(13),
          iccid: bcdToString(data.subarray(14, 24)).replace(/F+$/, ''),
        },
      };
  }
}

/** @param maxDigits digits the field holds; the rest of its `nibbles` is padding. */
function bcdFromString(digits: string, maxDigits: number, nibbles: number, padStart: boolean, what: string): Buffer {
  if (!/^[0-9A-Fa-f]*$/.test(digits) || digits.length > maxDigits) {
    throw new RangeError(`${what} "${digits}" does not fit ${maxDigits} BCD digits`);
  }
  const padded = padStart ? digits.padStart(nibbles, '0') : digits.padEnd(nibbles, 'F');
  return Buffer.from(padded, 'hex');
}

function writeInt(buf: Buffer, value: number, offset: number, bytes: 1 | 2 | 4, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * bytes)) {
    throw new RangeError(`${what} ${value} does not fit ${bytes === 1 ? 'u8' : bytes === 2 ? 'u16' : 'u32'}`);
  }
  buf.writeUIntLE(value, offset, bytes);
}

/** A message → a complete frame with length and checksum. Throws RangeError if a field does not fit. */
export function encodeAa55(message: Aa55Message): Buffer {
  const data = Buffer.alloc(AA55_DATA_LENGTHS[message.command]);
  switch (message.command) {
    case 'heartbeat':
      writeInt(data, message.status, 0, 2, 'status');
      writeInt(data, message.sensorParams, 2, 4, 'sensor parameters');
      writeInt(data, message.batteryMv, 6, 2, 'battery mV');
      writeInt(data, message.cellId, 8, 4, 'cell id');
      data.writeUInt16LE(toSignMagnitude16(message.rsrp), 12);
      writeInt(data, message.pci, 14, 2, 'PCI');
      data.writeUInt16LE(toSignMagnitude16(message.sinr), 16);
      writeInt(data, message.ecl, 18, 1, 'ECL');
      writeInt(data, message.csq, 19, 1, 'CSQ');
      break;
    case 'alarm':
      writeInt(data, message.status, 0, 2, 'status');
      writeInt(data, message.sensorParams, 2, 4, 'sensor parameters');
      writeInt(data, message.batteryMv, 6, 2, 'battery mV');
      writeInt(data, message.reserved, 8, 2, 'reserved');
      break;
    case 'register':
      writeInt(data, message.model, 0, 1, 'model');
      writeInt(data, message.protocolVersion, 1, 1, 'protocol version');
      writeInt(data, message.module, 2, 1, 'module');
      bcdFromString(message.imsi, 15, 16, true, 'IMSI').copy(data, 3);
      writeInt(data, message.vendor, 11, 1, 'vendor');
      writeInt(data, message.hardwareVersion, 12, 1, 'hardware version');
      writeInt(data, message.softwareVersion, 13, 1, 'software version');
      bcdFromString(message.iccid, 20, 20, false, 'ICCID').copy(data, 14);
      break;
  }
  return buildAa55Frame({ deviceType: AA55_DOOR_MAGNET, command: AA55_COMMANDS[message.command], data });
}

/**
 * The frame bytes in an `up` payload, which may be the raw frame or its ASCII hex text
 * ("AA5501…", any case, whitespace allowed: carrier consoles and some gateways forward hex).
 * null when the payload is not an AA55 frame at all (it is then JSON or garbage).
 */
export function aa55Bytes(payload: Uint8Array): { ok: true; bytes: Buffer } | Aa55Error | null {
  if (payload[0] === AA55_HEADER[0] && payload[1] === AA55_HEADER[1]) return { ok: true, bytes: Buffer.from(payload) };
  // latin1 maps every byte to one character, so this cannot fail on binary garbage.
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1').trim();
  if (!/^aa\s*55/i.test(text)) return null;
  const digits = text.replace(/\s+/g, '');
  if (!/^[0-9a-f]+$/i.test(digits)) return fail('STW_ERR_FRAME_MALFORMED', 'hex frame holds characters that are not hex digits');
  if (digits.length % 2 !== 0) return fail('STW_ERR_FRAME_MALFORMED', `hex frame has an odd number of digits (${digits.length})`);
  return { ok: true, bytes: Buffer.from(digits, 'hex') };
}

/** "1.0" ⇄ 0x10: major version in the high nibble, minor in the low. */
export function formatProtocolVersion(byte: number): string {
  return `${byte >> 4}.${byte & 0x0f}`;
}

export function parseProtocolVersion(text: string): number {
  const m = /^V?(\d{1,2})\.(\d{1,2})$/i.exec(text);
  const major = Number(m?.[1]);
  const minor = Number(m?.[2]);
  if (!m || major > 15 || minor > 15) throw new RangeError(`protocol version "${text}" is not N.N with N ≤ 15`);
  return (major << 4) | minor;
}
