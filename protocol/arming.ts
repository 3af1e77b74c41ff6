/**
 * Wire types of arming on the live feed. The server (server/live/feed.ts) pushes `arming` to
 * the sockets of the zone's site whenever a zone is armed or disarmed by hand or handed back
 * to its schedule, and when its schedule or a timed override changes it (server/arming/
 * schedule-watch.ts); the dashboard (dashboard/src/pages/main.ts) tints the zone at once.
 */

/** One zone's arming as it changed (`by`: who changed it, or "schedule"; `at`: when, ISO 8601). */
export interface ArmingChange {
  site: string;
  zone: string;
  /** Armed right after the change (for a handed-back zone: what its schedule says now). */
  armed: boolean;
  by: string;
  at: string;
}
