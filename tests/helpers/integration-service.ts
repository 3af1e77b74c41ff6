/**
 * An IntegrationService on a given store with nothing behind it: every device is unknown, so a
 * push or a connector's message is answered and counted, never ingested. For tests of the
 * service's view and of which worker runs its connectors.
 */
import { systemClock } from '../../server/clock.ts';
import { EventBus } from '../../server/events.ts';
import { IntegrationService, type IntegrationServiceDeps } from '../../server/integrations/service.ts';
import type { IntegrationStore } from '../../server/integrations/store.ts';
import { createLogger } from '../../server/observability/logger.ts';
import { Metrics } from '../../server/observability/metrics.ts';

export function bareIntegrationService(store: IntegrationStore, extra: Partial<IntegrationServiceDeps> = {}): IntegrationService {
  return new IntegrationService({
    store,
    registry: { findDeviceByExternalId: () => null, getDevice: () => null },
    ingest: {
      acceptUplink: () => Promise.reject(new Error('not here')),
      acceptEvents: () => Promise.reject(new Error('not here')),
      acceptPlatformStatus: () => Promise.reject(new Error('not here')),
    },
    sites: { get: (id) => (id === 'demo-hotel' || id === 'demo-shop' ? {} : undefined) },
    bus: new EventBus(),
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    clock: systemClock,
    config: { maxPushBytes: 1 << 20, pushRate: { perSecond: 1000, burst: 1000 }, dedupeWindowS: 3600, pictureMaxAgeS: 30 },
    ...extra,
  });
}
