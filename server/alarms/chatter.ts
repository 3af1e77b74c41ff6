/**
 * Chattering (ISA-18.2 §16.7): an alarm whose condition changes state more than `changes`
 * times within `windowMs` is chattering. Each change is a trigger or a restoration of the
 * condition: a door opened and closed is two. The defaults fit door sensors: four full
 * open/close cycles a minute is a person going in and out; more is a loose magnet, a door
 * banging in a draught — or someone testing the door, which is why the alarm stays and is
 * only marked, and its repeats never notify anyone again.
 */
export interface ChatterPolicy {
  changes: number;
  windowMs: number;
}

export const DEFAULT_CHATTER: ChatterPolicy = { changes: 8, windowMs: 60_000 };

export class ChatterDetector {
  private readonly seen = new Map<string, number[]>();

  constructor(private readonly policy: ChatterPolicy = DEFAULT_CHATTER) {}

  /** Records a change of `key`'s condition at `atMs`; true when the key is chattering now. */
  note(key: string, atMs: number): boolean {
    const since = atMs - this.policy.windowMs;
    const times = (this.seen.get(key) ?? []).filter((t) => t > since);
    times.push(atMs);
    // Only the last `changes + 1` matter: the map stays small however long a door bangs.
    if (times.length > this.policy.changes + 1) times.splice(0, times.length - this.policy.changes - 1);
    this.seen.set(key, times);
    return times.length > this.policy.changes;
  }

  /** Forgets a key (its alarm was closed out). */
  forget(key: string): void {
    this.seen.delete(key);
  }

  size(): number {
    return this.seen.size;
  }
}
