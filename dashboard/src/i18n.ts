/**
 * zh-CN and en strings. The language comes from a remembered choice, else navigator.language;
 * dates are shown in the site's IANA time zone, never the browser's.
 */
import type { Localized } from '../../server/sites/model.ts';

export type Language = 'zh-CN' | 'en';
const STORAGE_KEY = 'storetwin.language';

const en = {
  appTitle: 'StoreTwin',
  username: 'Username',
  password: 'Password',
  login: 'Log in',
  logout: 'Log out',
  loginFailed: 'Login failed',
  site: 'Site',
  alarms: 'Alarms',
  noAlarms: 'No open alarms',
  ack: 'Acknowledge',
  clear: 'Clear',
  comment: 'Comment',
  addComment: 'Add a comment',
  history: 'History',
  snapshot: 'Snapshot',
  snapshotPending: 'Waiting for the camera…',
  snapshotNone: 'No picture',
  state: 'State',
  devices: 'Devices',
  events: 'Recent events',
  openAlarms: 'Open alarms',
  arm: 'Arm',
  disarm: 'Disarm',
  armed: 'armed',
  disarmed: 'disarmed',
  door: 'Door',
  open: 'open',
  closed: 'closed',
  occupancy: 'Occupancy',
  battery: 'Battery',
  rsrp: 'RSRP',
  lastSeen: 'Last seen',
  online: 'online',
  offline: 'offline',
  unknown: '—',
  live: 'Live',
  replay: 'Replay',
  footfall: 'Footfall',
  today: 'Today',
  lastWeek: 'Same day last week',
  in: 'in',
  out: 'out',
  hour: 'hour',
  play: 'Play',
  pause: 'Pause',
  speed: 'Speed',
  openAtInstant: 'Open at this instant',
  loading: 'Loading…',
  close: 'Close',
  view3d: '3D',
  view2d: '2D',
  fit: 'Fit',
  allFloors: 'All floors',
  connectionLost: 'Connection lost, reconnecting…',
  manager: 'Manager view',
  newAlarm: 'New alarm',
  account: 'Account',
  accountTitle: (user: string) => `Account: ${user}`,
  changePassword: 'Change password',
  currentPassword: 'Current password',
  currentPasswordMissing: 'Enter your current password',
  newPassword: 'New password',
  repeatPassword: 'New password again',
  passwordRule: '10 to 256 characters. Every other session and API token of this account is signed out.',
  passwordChanged: 'Password changed — other sessions and tokens were signed out',
  passwordWrong: 'The current password is wrong',
  passwordTooShort: 'The new password needs at least 10 characters',
  passwordTooLong: 'The new password may have at most 256 characters',
  passwordMismatch: 'The two new passwords are not the same',
  rateLimited: 'Too many attempts. Wait a minute and try again.',
  failed: (message: string) => `That did not work: ${message}`,
  tokens: 'Sessions and API tokens',
  tokensHint: 'Everything signed in as you. Revoke what you do not recognise.',
  tokenKind: { session: 'Session', api: 'API token' },
  browserSession: 'Browser login',
  thisSession: 'this session',
  createdAt: (when: string) => `Created ${when}`,
  expiresAt: (when: string) => `Expires ${when}`,
  neverExpires: 'Never expires',
  revoke: 'Revoke',
  revokeConfirm: 'Revoke now',
  revokeAndLogout: 'Revoke and log out',
  cancel: 'Cancel',
  createToken: 'Create API token',
  tokenName: 'Name',
  tokenNameExample: 'e.g. stock-sync script',
  tokenDays: 'Valid for (days)',
  tokenDaysEmpty: 'empty: never expires',
  tokenNameRequired: 'Give the token a name',
  tokenDaysInvalid: 'Days: a whole number from 1 to 3650',
  tokenCreated: (name: string) => `API token “${name}” created`,
  tokenShownOnce: 'Copy it now: it will not be shown again.',
  copy: 'Copy',
  copied: 'Copied',
  copyByHand: 'Selected: press Ctrl+C to copy',
  done: 'Done',
  severity: { critical: 'critical', major: 'major', minor: 'minor', warning: 'warning', info: 'info' },
  alarmState: { active: 'active', acknowledged: 'acknowledged', cleared: 'cleared' },
  speakAlarm: (zone: string, message: string) => `Critical alarm. ${zone}. ${message}`,
  ago: (minutes: number) => (minutes < 1 ? 'just now' : minutes < 60 ? `${minutes} min ago` : `${Math.floor(minutes / 60)} h ago`),
};

export type Strings = typeof en;

const zh: Strings = {
  appTitle: 'StoreTwin 门店孪生',
  username: '用户名',
  password: '密码',
  login: '登录',
  logout: '退出',
  loginFailed: '登录失败',
  site: '门店',
  alarms: '告警',
  noAlarms: '没有未关闭的告警',
  ack: '确认',
  clear: '清除',
  comment: '备注',
  addComment: '添加备注',
  history: '处理记录',
  snapshot: '抓拍',
  snapshotPending: '等待摄像头抓拍…',
  snapshotNone: '无图片',
  state: '状态',
  devices: '设备',
  events: '最近事件',
  openAlarms: '未关闭告警',
  arm: '布防',
  disarm: '撤防',
  armed: '已布防',
  disarmed: '已撤防',
  door: '门',
  open: '打开',
  closed: '关闭',
  occupancy: '在场人数',
  battery: '电池',
  rsrp: '信号 RSRP',
  lastSeen: '最后上报',
  online: '在线',
  offline: '离线',
  unknown: '—',
  live: '实时',
  replay: '复盘',
  footfall: '客流',
  today: '今天',
  lastWeek: '上周同日',
  in: '进',
  out: '出',
  hour: '时',
  play: '播放',
  pause: '暂停',
  speed: '倍速',
  openAtInstant: '该时刻未关闭的告警',
  loading: '加载中…',
  close: '关闭',
  view3d: '3D',
  view2d: '平面',
  fit: '适配楼层',
  allFloors: '全部楼层',
  connectionLost: '连接中断，正在重连…',
  manager: '店长视图',
  newAlarm: '新告警',
  account: '账户',
  accountTitle: (user: string) => `账户：${user}`,
  changePassword: '修改密码',
  currentPassword: '当前密码',
  currentPasswordMissing: '请输入当前密码',
  newPassword: '新密码',
  repeatPassword: '再次输入新密码',
  passwordRule: '10 至 256 个字符。修改后，此账户的其他会话和 API 令牌都会退出登录。',
  passwordChanged: '密码已修改，其他会话和令牌均已退出登录',
  passwordWrong: '当前密码不正确',
  passwordTooShort: '新密码至少需要 10 个字符',
  passwordTooLong: '新密码最多 256 个字符',
  passwordMismatch: '两次输入的新密码不一致',
  rateLimited: '尝试次数过多，请一分钟后再试。',
  failed: (message: string) => `操作失败：${message}`,
  tokens: '会话与 API 令牌',
  tokensHint: '以您的身份登录的全部会话和令牌。不认识的请吊销。',
  tokenKind: { session: '会话', api: 'API 令牌' },
  browserSession: '浏览器登录',
  thisSession: '当前会话',
  createdAt: (when: string) => `创建于 ${when}`,
  expiresAt: (when: string) => `${when} 到期`,
  neverExpires: '永不过期',
  revoke: '吊销',
  revokeConfirm: '确认吊销',
  revokeAndLogout: '吊销并退出',
  cancel: '取消',
  createToken: '创建 API 令牌',
  tokenName: '名称',
  tokenNameExample: '例如：库存同步脚本',
  tokenDays: '有效期（天）',
  tokenDaysEmpty: '留空：永不过期',
  tokenNameRequired: '请填写令牌名称',
  tokenDaysInvalid: '天数须为 1 至 3650 的整数',
  tokenCreated: (name: string) => `已创建 API 令牌“${name}”`,
  tokenShownOnce: '请立即复制：此令牌不会再次显示。',
  copy: '复制',
  copied: '已复制',
  copyByHand: '已选中，请按 Ctrl+C 复制',
  done: '完成',
  severity: { critical: '紧急', major: '重要', minor: '次要', warning: '警告', info: '提示' },
  alarmState: { active: '未确认', acknowledged: '已确认', cleared: '已清除' },
  speakAlarm: (zone: string, message: string) => `紧急告警。${zone}。${message}`,
  ago: (minutes: number) => (minutes < 1 ? '刚刚' : minutes < 60 ? `${minutes} 分钟前` : `${Math.floor(minutes / 60)} 小时前`),
};

const TABLES: Record<Language, Strings> = { en, 'zh-CN': zh };

export function detectLanguage(stored: string | null, browser: readonly string[]): Language {
  if (stored === 'en' || stored === 'zh-CN') return stored;
  for (const tag of browser) {
    if (/^zh\b/i.test(tag)) return 'zh-CN';
    if (/^en\b/i.test(tag)) return 'en';
  }
  return 'zh-CN';
}

export class I18n {
  language: Language;
  private listeners = new Set<() => void>();

  constructor() {
    this.language = detectLanguage(localStorage.getItem(STORAGE_KEY), navigator.languages?.length ? navigator.languages : [navigator.language]);
    document.documentElement.lang = this.language;
  }

  get t(): Strings {
    return TABLES[this.language];
  }

  set(language: Language): void {
    if (language === this.language) return;
    this.language = language;
    localStorage.setItem(STORAGE_KEY, language);
    document.documentElement.lang = language;
    for (const l of this.listeners) l();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A Localized value from the server (zone names, alarm messages). */
  pick(value: Localized | null | undefined): string {
    if (!value) return '';
    return value[this.language] ?? value.en;
  }

  /** Date and time in the site's time zone. */
  dateTime(iso: string | number | Date, timeZone: string): string {
    return new Intl.DateTimeFormat(this.language, { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(iso));
  }

  time(iso: string | number | Date, timeZone: string): string {
    return new Intl.DateTimeFormat(this.language, { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(iso));
  }
}
