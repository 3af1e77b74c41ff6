/**
 * Alarms in words: rule ids as the rules' names (from `GET /api/rules`, else the id made
 * readable), who did something (`olga`, `rule “Tamper”`, `the system`), and each history entry
 * as a sentence in the user's language: "Picture attached from cam-2-a", "Acknowledged by olga".
 */
import type { AlarmCategory } from '../../server/alarms/category.ts';
import { SUPPRESSED_RULE, type AlarmTransition } from '../../server/alarms/types.ts';
import type { Localized } from '../../server/sites/model.ts';
import type { Api } from './api.ts';
import type { I18n } from './i18n.ts';

/** What the consoles need of a rule (the rules API answers the whole rule). */
interface RuleInfo {
  id: string;
  name?: Localized;
  category?: AlarmCategory;
}

/** `door-opened-armed` → `Door opened armed`: a rule without a name still reads as words. */
export function readableId(id: string): string {
  const words = id.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export class RuleNames {
  private rules = new Map<string, RuleInfo>();

  /**
   * Reads the rules in force for each site ('*' rules and the site's own). A site whose rules
   * cannot be read leaves its ids readable but unnamed: names are a courtesy, not a condition.
   */
  async load(api: Pick<Api, 'request'>, sites: readonly string[]): Promise<void> {
    const lists = await Promise.all(
      sites.map((site) =>
        api.request<{ items: RuleInfo[] }>('GET', `/api/rules?site=${encodeURIComponent(site)}`).then(
          (answer) => answer.items,
          () => [] as RuleInfo[],
        ),
      ),
    );
    for (const list of lists) for (const rule of list) this.rules.set(rule.id, rule);
  }

  name(rule: string, i18n: I18n): string {
    if (rule === SUPPRESSED_RULE) return i18n.t.suppressedRule;
    const name = this.rules.get(rule)?.name;
    return name ? i18n.pick(name) : readableId(rule);
  }

  category(rule: string): AlarmCategory | undefined {
    return this.rules.get(rule)?.category;
  }
}

/** Who did it: a user name as is, `rule:<id>` as the rule's name, `system` in words. */
export function actorName(by: string, names: RuleNames, i18n: I18n): string {
  if (by === 'system') return i18n.t.actorSystem;
  if (by.startsWith('rule:')) return i18n.t.actorRule(names.name(by.slice('rule:'.length), i18n));
  return by;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One history entry as a sentence (the comment, if any, is shown apart from it). */
export function describeStep(step: AlarmTransition, names: RuleNames, i18n: I18n): string {
  const t = i18n.t;
  const who = actorName(step.by, names, i18n);
  const d = step.detail ?? {};
  switch (step.action) {
    case 'raised':
      return t.hist.raised(who);
    case 'repeated': {
      const parts = [t.hist.repeated(typeof d.count === 'number' ? d.count : 0)];
      const from = text(d.from);
      const to = text(d.severity);
      if (from in t.severity && to in t.severity) parts.push(t.hist.severityUp(t.severity[from as keyof typeof t.severity], t.severity[to as keyof typeof t.severity]));
      if (d.reopened === true) parts.push(t.hist.reopened);
      if (d.again === true) parts.push(t.hist.again);
      return parts.join(i18n.language === 'zh-CN' ? '；' : '; ');
    }
    case 'restored':
      return t.hist.restored;
    case 'acknowledged':
      return t.hist.acknowledged(who);
    case 'cleared':
      // `restored` on a clear: the condition ended — by itself (the rule), or it had ended and
      // the acknowledgement closed the latched alarm out (a person).
      if (d.restored === true) return step.by.startsWith('rule:') || step.by === 'system' ? t.hist.clearedNormal(who) : t.hist.closedOnAck(who);
      return t.hist.cleared(who);
    case 'commented':
      return t.hist.commented(who);
    case 'escalated':
      return t.hist.escalated(typeof d.level === 'number' ? d.level : 0);
    case 'snapshot':
      switch (d.status) {
        case 'attached':
          return t.hist.snapshotAttached(text(d.camera));
        case 'pending':
          return t.hist.snapshotPending(text(d.camera));
        case 'failed':
          return t.hist.snapshotFailed(text(d.camera));
        default:
          return t.hist.snapshotNone;
      }
  }
}
