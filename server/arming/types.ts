/**
 * Arming and maintenance, as the rules and the alarm service read them. A zone is armed by a
 * manual override (API, later the dashboard) when one is in force, else by the schedule in
 * the site file (`armedDuring`, in the site's time zone). Maintenance (a technician at work)
 * suppresses alarms of a device or zone for a time window, and is itself recorded.
 */
export interface ArmingReader {
  isArmed(site: string, zone: string, atMs: number): boolean;
}

export interface MaintenanceReader {
  /** True if the device, or the zone, is under maintenance at that time. */
  inMaintenance(site: string, zone: string | null, device: string | null, atMs: number): boolean;
}
