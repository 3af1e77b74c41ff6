/**
 * Where rules come from: YAML files (each a list of rules) in the configured directories,
 * synced into the `rules` table with origin 'file', plus rules created over the API (origin
 * 'api'). Files are validated together and every problem is reported at once
 * (STW_ERR_RULE_INVALID). The directories are watched: an edit is picked up after a short
 * debounce; a broken edit is logged and the rules in force stay as they were.
 *
 * The rules in force are an in-memory view (`list`, `get`: synchronous, what the engine and
 * the API read): loaded from the RuleDefinitionStore by start(), and replaced from it after
 * every write that goes through this class (a file sync, an API create, update or remove).
 * Only those writes and the start wait for the database. A change another worker wrote
 * (PostgreSQL: the definition store's onChange, LISTEN/NOTIFY) re-reads the table in the same
 * queue as the writes; the view is replaced in one step when the read completes, then the
 * engine is told, so evaluation never waits for it.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { load as loadYaml, YAMLException } from 'js-yaml';
import { StoreTwinError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { ViewRefresher } from '../storage/postgres/changes.ts';
import type { RuleDefinitionStore, StoredRule } from './definition-store.ts';
import { formatRuleProblems, validateRule, type Rule, type RuleProblem } from './schema.ts';

export type { RuleOrigin, StoredRule } from './definition-store.ts';

/** What the engine reads: the rules in force, and a signal when they change. */
export interface RuleSource {
  list(site?: string): StoredRule[];
  onChange(listener: () => void): () => void;
}

export interface RuleStoreDeps {
  /** The table behind the view (createRuleDefinitionStore). */
  definitions: RuleDefinitionStore;
  /** Rule directories, read in order (e.g. the repo's `rules/` for the demo, then `<dataDir>/rules`). */
  dirs: readonly string[];
  logger: Logger;
  now?: () => number;
  /** Hot reload after file changes settle; false disables watching (tests that call reload()). */
  watch?: boolean;
  debounceMs?: number;
}

const RULE_FILE_EXTENSIONS = ['.yaml', '.yml'];

function isMissing(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}

/** Reads and validates every rule file; all problems at once. Missing directories are skipped. */
export async function loadRuleFiles(dirs: readonly string[]): Promise<{ rules: Array<{ rule: Rule; source: string }>; problems: RuleProblem[] }> {
  const rules: Array<{ rule: Rule; source: string }> = [];
  const problems: RuleProblem[] = [];
  const seen = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      if (!(await stat(dir)).isDirectory()) continue;
      names = await readdir(dir);
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    for (const name of names.filter((n) => !n.startsWith('.') && RULE_FILE_EXTENSIONS.includes(extname(n).toLowerCase())).sort()) {
      const file = join(dir, name);
      let doc: unknown;
      try {
        doc = loadYaml(await readFile(file, 'utf8'));
      } catch (err) {
        if (isMissing(err)) continue; // removed between readdir and read
        const where = err instanceof YAMLException && err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
        const reason = err instanceof YAMLException ? err.reason : err instanceof Error ? err.message : String(err);
        problems.push({ source: file, path: '', message: `cannot be parsed${where}: ${reason}` });
        continue;
      }
      if (doc === null || doc === undefined) continue; // an empty file is no rules
      if (!Array.isArray(doc)) {
        problems.push({ source: file, path: '', message: 'must be a list of rules' });
        continue;
      }
      doc.forEach((item, i) => {
        const result = validateRule(item, file, `[${i}]`);
        if (!result.ok) {
          problems.push(...result.problems);
          return;
        }
        const first = seen.get(result.rule.id);
        if (first !== undefined) {
          problems.push({ source: file, path: `[${i}].id`, message: `rule id "${result.rule.id}" is already defined in ${first}` });
          return;
        }
        seen.set(result.rule.id, file);
        rules.push({ rule: result.rule, source: file });
      });
    }
  }
  return { rules, problems };
}

export function ruleInvalid(problems: readonly RuleProblem[]): StoreTwinError {
  const files = new Set(problems.map((p) => p.source)).size;
  return new StoreTwinError('STW_ERR_RULE_INVALID', `${problems.length} problem(s) in ${files} rule source(s):\n${formatRuleProblems(problems)}`, problems);
}

export class RuleStore implements RuleSource {
  private readonly log: Logger;
  private readonly listeners = new Set<() => void>();
  private readonly watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | null = null;
  /** The rules in force, file rules first (see the header). */
  private view: StoredRule[] = [];
  /** Writes one after another: a reload and an API write must not interleave their view updates. */
  private writing: Promise<unknown> = Promise.resolve();
  /** Re-reads after other workers' changes (the table has no per-site read worth it: all of it). */
  private readonly refresher: ViewRefresher;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: RuleStoreDeps) {
    this.log = deps.logger.child({ module: 'rules.store' });
    this.refresher = new ViewRefresher(
      () => this.serial(() => this.refresh()),
      (err) => this.log.warn({ err }, 'rules changed by another worker not re-read yet; retrying'),
    );
  }

  /** Loads the files (throws STW_ERR_RULE_INVALID listing every problem) and starts watching. */
  async start(): Promise<void> {
    // Listening first: a rule another worker writes while this start runs is heard, not lost.
    this.unsubscribe ??= (await this.deps.definitions.onChange?.(this.refresher.request)) ?? null;
    await this.reload();
    if (this.deps.watch === false) return;
    for (const dir of this.deps.dirs) {
      try {
        const w = watch(dir, () => this.scheduleReload());
        w.on('error', (err) => this.log.warn({ err, dir }, 'rule directory watch failed'));
        this.watchers.push(w);
      } catch (err) {
        // A directory that does not exist yet holds no rules; nothing to watch.
        if (!isMissing(err)) throw err;
      }
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.refresher.close();
    for (const w of this.watchers.splice(0)) w.close();
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
  }

  /** Settles once the re-reads other workers' changes asked for so far are in the view (tests). */
  settled(): Promise<void> {
    return this.refresher.idle();
  }

  /** Re-reads the files now. A broken edit throws and leaves the rules in force unchanged. */
  reload(): Promise<void> {
    return this.serial(() => this.syncFiles());
  }

  /** Runs fn after every write queued before it (its failure does not stop the next one). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writing.then(fn);
    this.writing = run.catch(() => undefined);
    return run;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(site?: string): StoredRule[] {
    return site === undefined ? this.view : this.view.filter((r) => r.rule.site === '*' || r.rule.site === site);
  }

  get(id: string): StoredRule | null {
    return this.list().find((r) => r.rule.id === id) ?? null;
  }

  /** Validates and stores an API rule. Throws STW_ERR_RULE_INVALID or STW_ERR_RULE_EXISTS. */
  async create(input: unknown): Promise<StoredRule> {
    const rule = this.validate(input);
    if (this.get(rule.id)) throw new StoreTwinError('STW_ERR_RULE_EXISTS', `rule "${rule.id}" already exists`);
    return this.serial(async () => {
      // The table decides (another worker may have taken the id): the view may be behind it.
      if (!(await this.deps.definitions.insertApiRule(rule, this.now()))) {
        await this.refresh();
        throw new StoreTwinError('STW_ERR_RULE_EXISTS', `rule "${rule.id}" already exists`);
      }
      await this.refresh();
      return this.mustGet(rule.id);
    });
  }

  /** Replaces an API rule (its id stays). Throws STW_ERR_RULE_NOT_FOUND, STW_ERR_RULE_FROM_FILE or STW_ERR_RULE_INVALID. */
  async update(id: string, input: unknown): Promise<StoredRule> {
    const existing = this.mustGetApi(id);
    const body = typeof input === 'object' && input !== null && !Array.isArray(input) ? { ...input, id: existing.rule.id } : input;
    const rule = this.validate(body);
    return this.serial(async () => {
      const written = await this.deps.definitions.updateApiRule(rule, this.now());
      await this.refresh();
      if (!written) this.mustGetApi(id); // gone, or a file rule now: says which
      return this.mustGet(rule.id);
    });
  }

  /** Removes an API rule. Throws STW_ERR_RULE_NOT_FOUND or STW_ERR_RULE_FROM_FILE. */
  async remove(id: string): Promise<void> {
    this.mustGetApi(id);
    return this.serial(async () => {
      const removed = await this.deps.definitions.removeApiRule(id);
      await this.refresh();
      if (!removed) this.mustGetApi(id);
    });
  }

  private mustGet(id: string): StoredRule {
    const found = this.get(id);
    if (!found) throw new StoreTwinError('STW_ERR_RULE_NOT_FOUND', `no rule "${id}"`);
    return found;
  }

  private mustGetApi(id: string): StoredRule {
    const existing = this.get(id);
    if (!existing) throw new StoreTwinError('STW_ERR_RULE_NOT_FOUND', `no rule "${id}"`);
    if (existing.origin === 'file') {
      throw new StoreTwinError('STW_ERR_RULE_FROM_FILE', `rule "${id}" comes from a rule file; edit the file (it is reloaded automatically)`);
    }
    return existing;
  }

  private validate(input: unknown): Rule {
    const result = validateRule(input, 'body');
    if (!result.ok) throw ruleInvalid(result.problems);
    return result.rule;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private scheduleReload(): void {
    if (this.debounce) clearTimeout(this.debounce);
    // Editors write a file in several steps (truncate, write, rename): wait for them to settle.
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.reload().catch((err: unknown) => this.log.error({ err }, 'rule files not reloaded; the previous rules stay in force'));
    }, this.deps.debounceMs ?? 200);
    this.debounce.unref();
  }

  private async syncFiles(): Promise<void> {
    const { rules, problems } = await loadRuleFiles(this.deps.dirs);
    if (problems.length > 0) throw ruleInvalid(problems);
    // The conflict check and the writes are one transaction: an API rule created meanwhile (by
    // another worker too) is either seen here or refused its id.
    const { conflicts } = await this.deps.definitions.replaceFileRules(
      rules.map((r) => r.rule),
      this.now(),
    );
    if (conflicts.length > 0) {
      const taken = new Set(conflicts);
      throw ruleInvalid(
        rules.filter(({ rule }) => taken.has(rule.id)).map(({ rule, source }) => ({ source, path: 'id', message: `rule id "${rule.id}" is already used by a rule created over the API` })),
      );
    }
    this.log.info({ rules: rules.length }, 'rule files loaded');
    await this.refresh();
  }

  /** Replaces the view from the table and tells the listeners (the engine). */
  private async refresh(): Promise<void> {
    this.view = await this.deps.definitions.list();
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.log.error({ err }, 'rule change listener failed');
      }
    }
  }
}

/** A fixed list of rules as a RuleSource (backtests, tests). */
export function staticRules(rules: readonly Rule[]): RuleSource {
  const stored = rules.map((rule) => ({ rule, origin: 'api' as const, updatedAt: 0 }));
  return {
    list: (site) => (site === undefined ? stored : stored.filter((r) => r.rule.site === '*' || r.rule.site === site)),
    onChange: () => () => undefined,
  };
}
