/**
 * Arming and maintenance, as the rules and the alarm service read them. A zone is armed by a
 * manual override (API, later the dashboard) when one is in force, else by the schedule in
 * the site file (`armedDuring`, in the site's time zone). Maintenance (a technician at work)
 * suppresses alarms of a device or zone for a time window, and is itself recorded.
 */
export interface ArmingReader {
  isArmed(site: string, zone: string, atMs: number): boolean;
  /**
   * Zones whose override another worker changed, once `isArmed` answers with it (that worker
   * announced the change as `zone.arming` on its own bus; here it is not announced again).
   */
  onRemoteChange?(listener: (zones: Array<{ site: string; zone: string }>) => void): () => void;
}

/** A maintenance window as stored and as the API shows it. */
export interface MaintenanceWindow {
  id: number;
  site: string;
  zone: string | null;
  device: string | null;
  by: string;
  reason: string | null;
  from: string;
  until: string;
  /** In force at the time of the answer. */
  active: boolean;
}

/** The window that suppresses an alarm, with what a message about it needs. */
export interface ActiveMaintenance extends MaintenanceWindow {
  /** The site's IANA time zone (for "until 18:00" in local time); null if the site is unknown. */
  timezone: string | null;
}

export interface MaintenanceReader {
  /**
   * The window that puts the device, or the zone, under maintenance at that time (of several,
   * the one ending last), or null. Truthy exactly when the old boolean answer was true.
   */
  inMaintenance(site: string, zone: string | null, device: string | null, atMs: number): ActiveMaintenance | null;
}
