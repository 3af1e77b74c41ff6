/** The door contact: its state on the wire and the `door` event schema. */
import { z } from 'zod';
import type { DoorState } from '../types.ts';
import { batteryField } from './battery.ts';
import { eventFields } from './json.ts';

/** Firmware says "close" as often as "closed"; both mean the same and are stored as "closed". */
export const doorStateSchema = z
  .enum(['open', 'closed', 'close'])
  .transform((s): DoorState => (s === 'close' ? 'closed' : s));

export const doorEventSchema = z.object({
  type: z.literal('door'),
  state: doorStateSchema,
  battery: batteryField,
  ...eventFields,
});
