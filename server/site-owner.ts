/**
 * Which sites this process acts for. Alone, every site; one worker of several, the sites whose
 * lease it holds (server/cluster/site-ownership.ts). The twin, the rules engine and the broker
 * sessions ask `owns(site)` and follow `acquired` / `lost`.
 */
import type { EventEmitter } from 'node:events';

export interface SiteOwnershipEvents {
  acquired: [site: string, epoch: number];
  lost: [site: string, why: 'handoff' | 'taken' | 'unreachable' | 'stopped'];
  /** A tick failed (the database unreachable): logged by the app, retried next tick. */
  tickFailed: [err: unknown];
}

/** What the rest of the worker asks: does it act for this site now? */
export interface SiteOwner extends EventEmitter<SiteOwnershipEvents> {
  owns(site: string): boolean;
  owned(): string[];
}
