/** The benchmark's devices: ids, zones and topics, shared by the server fixture and the load generator. */

export const BENCH_SITE = 'demo-hotel';

/** Device ids are [a-z0-9-]{1,63}. */
export function benchDeviceId(i: number): string {
  return `bench-door-${String(i).padStart(4, '0')}`;
}

/** Spreads devices over the 120 guest rooms of sites/demo-hotel.yaml: floors 2–5, rooms 01–30. */
export function benchZone(i: number): string {
  const floor = 2 + (Math.floor(i / 30) % 4);
  const room = (i % 30) + 1;
  return `${floor}-${String(room).padStart(2, '0')}`;
}

export function uplinkTopic(deviceId: string): string {
  return `storetwin/${BENCH_SITE}/${deviceId}/up`;
}
