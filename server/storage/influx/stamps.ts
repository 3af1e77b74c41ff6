/**
 * What InfluxDB lacks and the event store needs: row ids, and a way to keep equal events apart.
 *
 * InfluxDB overwrites a point with another of the same measurement, tags and time, and has no
 * row ids. So each stored event gets, from the one process that writes:
 * - a tie in 0..999,999, added as nanoseconds to the event's time in ms. Ties come from a
 *   counter (mod 10⁶, from a random start), so two events of one series and one millisecond get
 *   the same time only if 10⁶ events were written between them; across a restart, with odds of
 *   one in a million. Pages are ordered by that nanosecond time, then by id.
 * - an id: `max(now_ms × 1000, previous + 1)`, a unique safe integer (until the year 2255) that
 *   grows while this process writes; after a restart it starts from the clock again, above
 *   every id issued before unless the clock went back or an earlier process wrote more than
 *   1,000 events per millisecond on average.
 * Two processes writing the same database at once could issue equal ids: one writer only.
 */
import { randomInt } from 'node:crypto';

export const TIES_PER_MS = 1_000_000;
const IDS_PER_MS = 1000;

export interface Stamp {
  id: number;
  tie: number;
}

export class EventStamps {
  private lastId = 0;
  private nextTie: number;

  constructor(
    private readonly now: () => number = Date.now,
    firstTie: number = randomInt(TIES_PER_MS),
  ) {
    this.nextTie = firstTie % TIES_PER_MS;
  }

  next(): Stamp {
    const id = Math.max(this.now() * IDS_PER_MS, this.lastId + 1);
    this.lastId = id;
    const tie = this.nextTie;
    this.nextTie = (tie + 1) % TIES_PER_MS;
    return { id, tie };
  }
}
