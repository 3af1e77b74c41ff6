/**
 * Simulated people counting at an entrance: arrivals follow the site's traffic curve, and
 * leavers follow the people inside with a typical stay, so the occupancy derived from the
 * counts stays plausible: it builds up through the day and is back to zero at closing.
 */
import { publicTraffic } from './activity.ts';
import { poisson, type Random } from './random.ts';
import { hoursUntilClose, isWithin, type Hours } from './time.ts';

export interface Counts {
  in: number;
  out: number;
}

/** Shops stop letting people in gradually over the last minutes before closing. */
const LAST_ENTRY_MIN = 15;

export class FootfallModel {
  /** People inside who came through this counter. */
  occupancy = 0;

  /**
   * @param peakPerMinute arrivals per minute at the busiest time of day.
   * @param stayMinutes typical time a visitor stays inside.
   */
  constructor(
    private readonly random: Random,
    private readonly peakPerMinute: number,
    private readonly stayMinutes: number,
  ) {}

  /** Counts of one period starting at local hour `startHour`. */
  period(startHour: number, periodMin: number, opening: Hours): Counts {
    if (!isWithin(startHour, opening)) {
      // Zero when closed; anyone the model still holds has left with the staff.
      const out = this.occupancy;
      this.occupancy = 0;
      return { in: 0, out };
    }
    const minutesLeft = hoursUntilClose(startHour, opening) * 60;
    if (minutesLeft <= periodMin) {
      const out = this.occupancy;
      this.occupancy = 0;
      return { in: 0, out };
    }
    const taper = Math.min(1, minutesLeft / LAST_ENTRY_MIN);
    const traffic = publicTraffic(startHour + periodMin / 120, opening);
    const entered = poisson(this.random, this.peakPerMinute * traffic * periodMin * taper);
    // Near closing people hurry: the stay shrinks so the place empties by closing time.
    const stay = Math.max(periodMin, Math.min(this.stayMinutes, minutesLeft / 3));
    const leaving = Math.min(this.occupancy, poisson(this.random, this.occupancy * (1 - Math.exp(-periodMin / stay))));
    this.occupancy += entered - leaving;
    return { in: entered, out: leaving };
  }
}
