/** An alarm's camera picture, or why there is none yet. */
import type { Alarm } from '../../../server/alarms/types.ts';
import { h } from '../dom.ts';
import type { Strings } from '../i18n.ts';

export function snapshotView(alarm: Alarm, t: Strings): HTMLElement {
  const snap = alarm.snapshot;
  if (snap?.status === 'attached') {
    // Same-origin: the session cookie authorises the image request.
    return h('figure', { class: 'snapshot' }, h('img', { src: snap.url, alt: t.snapshot, 'data-snapshot': snap.id }));
  }
  const text = snap?.status === 'pending' ? t.snapshotPending : t.snapshotNone;
  return h('figure', { class: `snapshot snapshot-${snap?.status ?? 'none'}` }, h('figcaption', {}, text));
}
