/**
 * Deep links from notifications: a chat message links `<publicUrl>/?alarm=<id>`. Opened without
 * a session, the page goes to the login page, which returns to the link (`loginReturn`); then
 * the page shows the alarm's site and opens that alarm's detail (`alarmFromLink`). An alarm the
 * user may not see answers 404 like one that does not exist, and the page is as usual.
 */
import type { Alarm } from '../../server/alarms/types.ts';
import type { Api } from './api.ts';

export const ALARM_PARAM = 'alarm';

/** The alarm id a page was opened for, if any. */
export function alarmFromUrl(search: string = location.search): string | null {
  const id = new URLSearchParams(search).get(ALARM_PARAM);
  return id && /^[A-Za-z0-9._:-]{1,100}$/.test(id) ? id : null;
}

/** Where the login page sends the user afterwards: the page they asked for, query included. */
export function loginTarget(): string {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

/**
 * A `next` that stays on this origin (`/\evil.example` is `//evil.example` to a browser),
 * as path, query and fragment; '/' otherwise.
 */
export function loginReturn(next: string | null): string {
  if (!next) return '/';
  try {
    const url = new URL(next, location.origin);
    if (url.origin !== location.origin || url.pathname === '/login') return '/';
    return url.pathname + url.search + url.hash;
  } catch {
    return '/';
  }
}

/**
 * The alarm the page was opened for, read once: the parameter leaves the address bar, so a
 * reload or a language switch does not open it again. Null without a link, or when the alarm
 * is not there for this user (404). The page selects the alarm's site first — rather than the
 * one remembered, which would load a twin for nothing on a phone — then opens its detail.
 */
export async function alarmFromLink(api: Pick<Api, 'alarm'>): Promise<Alarm | null> {
  const id = alarmFromUrl();
  if (!id) return null;
  const url = new URL(location.href);
  url.searchParams.delete(ALARM_PARAM);
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  try {
    return await api.alarm(id);
  } catch {
    return null;
  }
}
