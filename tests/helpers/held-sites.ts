/** The ownership a worker would get from its leases (server/cluster/site-ownership.ts), moved by hand in tests. */
import { EventEmitter } from 'node:events';
import type { SiteOwner, SiteOwnershipEvents } from '../../server/cluster/site-ownership.ts';

export class HeldSites extends EventEmitter<SiteOwnershipEvents> implements SiteOwner {
  private readonly held = new Set<string>();
  constructor(...sites: string[]) {
    super();
    for (const s of sites) this.held.add(s);
  }
  owns(site: string): boolean {
    return this.held.has(site);
  }
  owned(): string[] {
    return [...this.held].sort();
  }
  acquire(site: string): void {
    this.held.add(site);
    this.emit('acquired', site, 1);
  }
  lose(site: string, why: SiteOwnershipEvents['lost'][1] = 'handoff'): void {
    this.held.delete(site);
    this.emit('lost', site, why);
  }
}
