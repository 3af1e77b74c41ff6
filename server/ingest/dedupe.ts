/**
 * Drops retransmissions: a device that did not see its PUBACK (NB-IoT links drop often) sends
 * the same message again with the same `seq`. A (device, seq) seen within the window is a
 * duplicate. The window bounds memory and lets a rebooted device, whose counter restarts,
 * be heard again once old numbers age out. Integrations use it with the platform's own message
 * key (a CTWing `upPacketSN`, a Hikvision report's end time) in place of `seq`.
 */
export class SeqDeduper<K extends number | string = number> {
  /** device → seq → last seen (ms). Map keeps insertion order, so the oldest come first. */
  private readonly seen = new Map<string, Map<K, number>>();

  constructor(
    private readonly windowMs: number,
    /** Per-device cap: a device cannot grow this without bound by cycling seq values. */
    private readonly maxPerDevice = 4096,
  ) {}

  /** True if (device, seq) was seen within the window; records it otherwise. */
  isDuplicate(device: string, seq: K, nowMs: number): boolean {
    let seqs = this.seen.get(device);
    if (!seqs) {
      seqs = new Map();
      this.seen.set(device, seqs);
    }
    this.prune(seqs, nowMs);
    const at = seqs.get(seq);
    if (at !== undefined && nowMs - at < this.windowMs) return true;
    seqs.delete(seq);
    seqs.set(seq, nowMs);
    if (seqs.size > this.maxPerDevice) seqs.delete(seqs.keys().next().value!);
    return false;
  }

  /** Forgets a (device, seq) recorded by isDuplicate, when its event could not be stored. */
  forget(device: string, seq: K): void {
    this.seen.get(device)?.delete(seq);
  }

  /** Restores the window after a restart from what the store holds. */
  remember(device: string, seq: K, atMs: number): void {
    this.isDuplicate(device, seq, atMs);
  }

  private prune(seqs: Map<K, number>, nowMs: number): void {
    for (const [seq, at] of seqs) {
      if (nowMs - at < this.windowMs) break;
      seqs.delete(seq);
    }
  }
}
