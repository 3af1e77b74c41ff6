export { type AlarmWindowReader, type HistoryAlarm } from './alarms.ts';
export { countersOf, footfallSeries, footfallSummary, type Counter, type FootfallSeries, type FootfallSummary } from './footfall.ts';
export {
  buildHistory,
  historyWindow,
  DEFAULT_WINDOW_MS,
  MAX_WINDOW_MS,
  STATE_LOOKBACK_MS,
  type History,
  type HistoryChange,
  type HistoryDeps,
} from './history.ts';
export { localDayStart, localDate, localHour } from './local-time.ts';
