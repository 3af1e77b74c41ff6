/**
 * Reads every event matching a query, oldest first, through the event store's keyset pages,
 * in slices that hand the event loop back (server/storage/yield.ts): the store is synchronous,
 * so without them a long scan would hold the loop from its first page to its last.
 */
import { MAX_QUERY_LIMIT } from '../storage/paging.ts';
import type { EventQuery, EventStore, StoredEvent } from '../storage/types.ts';
import { EventLoopSlicer } from '../storage/yield.ts';

/**
 * Rows per page. Measured on the 2-core development machine over a month of the busy demo
 * hotel (tests/history/busy-month.ts): ~4 µs a row in SQLite plus ~3 µs to decode it (JSON,
 * dates), so 128 rows is ~1 ms of a 5 ms slice. Larger pages read no faster per row and make
 * the slices overshoot: a backtest's slices were p90 6.4 / p99 8.9 ms with 128-row pages,
 * 7.8 / 9.7 ms with 256, 15 / 18 ms with 1,000 (one 1,000-row page alone took 7–11 ms).
 */
export const SCAN_PAGE = 128;

export interface ScanOptions {
  /** Shared by every scan of one request, so the slices span them; a new one by default. */
  slicer?: EventLoopSlicer;
  /** Rows per page, 1..MAX_QUERY_LIMIT (the stores' bound, server/storage/paging.ts); default the store's scanPageSize, else SCAN_PAGE. */
  pageSize?: number;
}

export async function* scanEvents(store: EventStore, q: Omit<EventQuery, 'limit' | 'cursor' | 'order'>, opts: ScanOptions = {}): AsyncGenerator<StoredEvent[]> {
  const slicer = opts.slicer ?? new EventLoopSlicer();
  const limit = Math.min(opts.pageSize ?? store.scanPageSize ?? SCAN_PAGE, MAX_QUERY_LIMIT);
  let from = q.from;
  let cursor: string | undefined;
  for (;;) {
    // The caller's work on the previous page counts in this slice too.
    await slicer.pause();
    const page = await store.query({ ...q, ...(from === undefined ? {} : { from }), limit, order: 'asc', ...(cursor === undefined ? {} : { cursor }) });
    const last = page.items[page.items.length - 1];
    if (page.items.length > 0) yield page.items;
    if (page.nextCursor === null || last === undefined) return;
    cursor = page.nextCursor;
    // The cursor means after the last row in the store's order, which is by ts first, so
    // ts ≥ its ts: saying so as `from` lets SQLite seek there. With only the cursor it seeks to
    // the original `from` and filters every row up to the cursor, page after page: a month's
    // scan became quadratic (~60 ms a page two weeks in, 120 ms at a month, against 1 ms).
    from = last.ts;
  }
}

/**
 * The events of several sites in ts order: one scan per site, merged. Each site's events keep
 * their store's order (ts, then the store's tie-breaker); events of different sites with the
 * same ts go out in the order `sites` lists the sites. A query with no site has no index in
 * that order (SQLite sorts every matching row for each page: ~480 ms a page over a month of one
 * busy site), so a scan across sites is never one query.
 */
export async function* scanSites(store: EventStore, sites: readonly string[], q: Omit<EventQuery, 'limit' | 'cursor' | 'order' | 'site'>, opts: ScanOptions = {}): AsyncGenerator<StoredEvent[]> {
  const shared: ScanOptions = { ...opts, slicer: opts.slicer ?? new EventLoopSlicer() };
  if (sites.length === 1) {
    yield* scanEvents(store, { ...q, site: sites[0] as string }, shared);
    return;
  }
  // Each site's next event; the earliest goes out next.
  interface Head {
    it: AsyncGenerator<StoredEvent[]>;
    page: StoredEvent[];
    i: number;
    next: StoredEvent;
  }
  const heads: Head[] = [];
  const advance = async (it: AsyncGenerator<StoredEvent[]>): Promise<Head | null> => {
    const r = await it.next();
    return r.done || r.value.length === 0 ? null : { it, page: r.value, i: 0, next: r.value[0] as StoredEvent };
  };
  for (const site of sites) {
    const head = await advance(scanEvents(store, { ...q, site }, shared));
    if (head) heads.push(head);
  }
  const size = opts.pageSize ?? store.scanPageSize ?? SCAN_PAGE;
  let out: StoredEvent[] = [];
  while (heads.length > 0) {
    let min = 0;
    for (let k = 1; k < heads.length; k++) if (before((heads[k] as Head).next, (heads[min] as Head).next)) min = k;
    const head = heads[min] as Head;
    out.push(head.next);
    const following = head.page[++head.i];
    if (following !== undefined) head.next = following;
    else {
      const refilled = await advance(head.it);
      if (refilled) heads[min] = refilled;
      else heads.splice(min, 1);
    }
    if (out.length >= size) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

/**
 * Strictly earlier by ts (the store's ISO 8601 UTC with milliseconds sorts as text). Ties are
 * not broken here: how a store orders equal ts is its own business (ids need not grow with it),
 * and the merge keeps the earlier-listed site's head on a tie.
 */
function before(a: StoredEvent, b: StoredEvent): boolean {
  return a.ts < b.ts;
}
