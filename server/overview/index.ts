/** The chain overview (GET /api/overview): every visible site's footfall, alarms and device health. */
export { ChainOverview, RESPONSE_WINDOW_MS, type OverviewDeps } from './service.ts';
export { FootfallRollup, GRACE_MS } from './footfall-rollup.ts';
