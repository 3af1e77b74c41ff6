/**
 * What browser tests read: `window.__storetwinReady` (the twin drew its first frame with
 * state) and `window.__storetwin` (twin stats, the state shown, the alarms). Read-only views.
 */
declare global {
  interface Window {
    __storetwinReady?: boolean;
    __storetwin?: Record<string, unknown>;
  }
}

export function exposeForTests(hooks: Record<string, unknown>): void {
  window.__storetwin = hooks;
}

export function markReady(): void {
  window.__storetwinReady = true;
}
