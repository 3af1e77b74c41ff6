/**
 * Reads every event matching a query, oldest first, through the event store's keyset pages
 * (at most MAX_QUERY_LIMIT rows each, so one page never holds the event loop for long).
 */
import type { EventQuery, EventStore, StoredEvent } from '../storage/types.ts';

/** The event stores' page bound (server/storage/sqlite/event-store.ts MAX_QUERY_LIMIT). */
const PAGE = 1000;

export async function* scanEvents(store: EventStore, q: Omit<EventQuery, 'limit' | 'cursor' | 'order'>): AsyncGenerator<StoredEvent[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await store.query({ ...q, limit: PAGE, order: 'asc', ...(cursor === undefined ? {} : { cursor }) });
    if (page.items.length > 0) yield page.items;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}
