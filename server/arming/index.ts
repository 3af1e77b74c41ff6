export { ArmingService, type ArmingServiceDeps, type ArmingSites, type ZoneArming } from './service.ts';
export { ArmingScheduleWatch, ARMING_CHECK_MS, SCHEDULE_ACTOR, type ArmingScheduleWatchDeps } from './schedule-watch.ts';
export { MaintenanceService, type MaintenanceServiceDeps, type MaintenanceWindow, type NewMaintenance } from './maintenance.ts';
export { scheduleArmed, inWindow, localTime } from '../sites/schedule.ts';
export type { ArmingReader, MaintenanceReader } from './types.ts';
export { type ArmingOverride, type ArmingStore, type MaintenanceRecord } from './store.ts';
