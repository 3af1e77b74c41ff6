/**
 * Response KPIs as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote
 * or a line break), UTF-8 with a byte-order mark: without it Excel reads the file as the
 * system's ANSI code page and Chinese site names come out garbled. Headers in the language
 * asked for; numbers plain (seconds, and the share in percent) so a spreadsheet can compute.
 */
import type { Localized } from '../sites/model.ts';
import type { KpiFigures, KpiGroup, KpiGrouping } from './response.ts';

export type CsvLanguage = keyof Localized;

const HEADERS: Readonly<Record<CsvLanguage, { by: Record<KpiGrouping, string>; rest: readonly string[]; total: string; unacknowledged: string }>> = {
  en: {
    by: { site: 'site', user: 'person', severity: 'severity', rule: 'rule' },
    rest: [
      'name',
      'alarms',
      'occurrences',
      'acknowledged',
      'unacknowledged',
      'pending',
      'ack within target',
      'ack within target %',
      'time to ack median (s)',
      'time to ack p90 (s)',
      'cleared',
      'uncleared',
      'time to clear median (s)',
      'time to clear p90 (s)',
    ],
    total: 'total',
    unacknowledged: '(not acknowledged)',
  },
  'zh-CN': {
    by: { site: '门店', user: '人员', severity: '级别', rule: '规则' },
    rest: [
      '名称',
      '告警数',
      '发生次数',
      '已确认',
      '未确认',
      '待确认（未超时）',
      '及时确认',
      '及时率 %',
      '确认用时中位数（秒）',
      '确认用时 P90（秒）',
      '已清除',
      '未清除',
      '清除用时中位数（秒）',
      '清除用时 P90（秒）',
    ],
    total: '合计',
    unacknowledged: '（未确认）',
  },
};

/**
 * A field as text. Text that a spreadsheet would run as a formula (starting with = + - @, tab or
 * CR: OWASP "CSV injection") gets a leading apostrophe: site names come from site files and
 * rule ids and user names from other people.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Seconds to the millisecond, shares in percent to 0.1. */
const round = (v: number | null, places: number): number | null => (v === null ? null : Math.round(v * 10 ** places) / 10 ** places);

function figures(f: KpiFigures): Array<number | null> {
  return [
    f.alarms,
    f.occurrences,
    f.acknowledged,
    f.unacknowledged,
    f.pending,
    f.ackWithinTarget,
    round(f.ackWithinTargetShare === null ? null : f.ackWithinTargetShare * 100, 1),
    round(f.timeToAck.median, 3),
    round(f.timeToAck.p90, 3),
    f.cleared,
    f.uncleared,
    round(f.timeToClear.median, 3),
    round(f.timeToClear.p90, 3),
  ];
}

export function kpiCsv(report: { by: KpiGrouping; groups: readonly KpiGroup[]; total: KpiFigures }, lang: CsvLanguage): string {
  const h = HEADERS[lang];
  const rows: Array<Array<string | number | null>> = [[h.by[report.by], ...h.rest]];
  for (const g of report.groups) {
    const name = g.label !== undefined ? g.label[lang] : g.key === null ? h.unacknowledged : '';
    rows.push([g.key ?? '', name, ...figures(g)]);
  }
  rows.push([h.total, '', ...figures(report.total)]);
  return `\uFEFF${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}
