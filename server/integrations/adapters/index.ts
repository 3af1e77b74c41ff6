/**
 * The adapter catalogue. Adding an integration is adding its module and one line here; the
 * push endpoint, the integrations API, simulators (`--via`) and the contract suite find it by id.
 */
import type { Adapter } from './types.ts';
import { ctwing } from './ctwing.ts';
import { onenet } from './onenet.ts';
import { hikvision } from './hikvision.ts';
import { axis } from './axis.ts';
import { frigate } from './frigate.ts';

export const adapters: readonly Adapter<unknown>[] = [
  ctwing,
  onenet,
  hikvision,
  axis,
  frigate,
];

const byId = new Map(adapters.map((a) => [a.id, a]));

export function getAdapter(id: string): Adapter<unknown> | undefined {
  return byId.get(id);
}
