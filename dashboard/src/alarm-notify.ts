/**
 * How alarms get attention: a tone from a WebAudio oscillator (no audio files to ship or
 * cache), a new critical alarm spoken with speechSynthesis in the user's language, and the
 * tone repeated every `repeatMs` while an unacknowledged critical or major alarm is on screen
 * (the console says so with setRinging), until someone acknowledges it — or mutes this tab.
 *
 * Browsers only start audio after a user gesture; a blocked context is resumed on the next
 * click. The mute holds for this browser session (sessionStorage, like the login token), so a
 * desk that muted one shift's noise does not stay silent for the next one.
 */
import type { Language } from './i18n.ts';

const MUTE_KEY = 'storetwin.muted';
/** Per browser (localStorage): seconds between repeats, e.g. a quieter 120 on a busy desk. */
export const TONE_REPEAT_KEY = 'storetwin.toneRepeatS';
export const DEFAULT_TONE_REPEAT_S = 30;

/** The repeat interval from the stored setting: whole seconds 1–3600, else the default. */
export function toneRepeatMs(stored: string | null): number {
  const s = stored === null ? Number.NaN : Number(stored);
  return Number.isInteger(s) && s >= 1 && s <= 3600 ? s * 1000 : DEFAULT_TONE_REPEAT_S * 1000;
}

export class AlarmNotifier {
  private audio: AudioContext | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private listeners = new Set<() => void>();
  private readonly onPointer = () => void this.context()?.resume().catch(() => undefined);
  /** Attention calls for new alarms (tests and the console can see one happened, muted or not). */
  notified = 0;
  /** Tones played: the first for a new alarm and every repeat (a test hook counts them). */
  tones = 0;
  readonly repeatMs: number;
  muted: boolean;

  constructor() {
    this.repeatMs = toneRepeatMs(localStorage.getItem(TONE_REPEAT_KEY));
    this.muted = sessionStorage.getItem(MUTE_KEY) === '1';
    document.addEventListener('pointerdown', this.onPointer, { passive: true });
  }

  dispose(): void {
    this.setRinging(false);
    document.removeEventListener('pointerdown', this.onPointer);
  }

  setMuted(muted: boolean): void {
    if (muted === this.muted) return;
    this.muted = muted;
    if (muted) sessionStorage.setItem(MUTE_KEY, '1');
    else sessionStorage.removeItem(MUTE_KEY);
    if (muted && typeof speechSynthesis !== 'undefined') speechSynthesis.cancel();
    for (const l of this.listeners) l();
  }

  onMutedChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Whether an unacknowledged critical or major alarm is on screen. While one is, the tone
   * repeats every repeatMs; it stops the moment the last one is acknowledged (or closed out).
   */
  setRinging(on: boolean): void {
    if (on === (this.timer !== null)) return;
    if (on) {
      this.timer = setInterval(() => {
        if (!this.muted) this.tone();
      }, this.repeatMs);
    } else if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  get ringing(): boolean {
    return this.timer !== null;
  }

  /** A new alarm that needs attention: the tone now and, for a critical one, `speech` spoken. */
  alert(speech: { text: string; language: Language } | null): void {
    this.notified++;
    if (this.muted) return;
    this.tone();
    if (speech) {
      try {
        this.speak(speech.text, speech.language);
      } catch {
        // Speech is a courtesy: the alarm is already on screen.
      }
    }
  }

  private context(): AudioContext | null {
    if (this.audio) return this.audio;
    if (typeof AudioContext === 'undefined') return null;
    this.audio = new AudioContext();
    return this.audio;
  }

  private tone(): void {
    this.tones++;
    try {
      this.beep();
    } catch {
      // Audio is a courtesy: the alarm is already on screen.
    }
  }

  private beep(): void {
    const ctx = this.context();
    if (!ctx) return;
    // Three short two-tone pulses: recognisable as an alarm, short enough not to annoy.
    const start = ctx.currentTime + 0.02;
    for (let i = 0; i < 3; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'square';
      osc.frequency.setValueAtTime(880, start + i * 0.4);
      osc.frequency.setValueAtTime(660, start + i * 0.4 + 0.15);
      gain.gain.setValueAtTime(0.0001, start + i * 0.4);
      gain.gain.exponentialRampToValueAtTime(0.2, start + i * 0.4 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.4 + 0.3);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + i * 0.4);
      osc.stop(start + i * 0.4 + 0.32);
    }
  }

  private speak(text: string, language: Language): void {
    if (typeof speechSynthesis === 'undefined') return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = language;
    const voice = speechSynthesis.getVoices().find((v) => v.lang.replace('_', '-').toLowerCase().startsWith(language === 'zh-CN' ? 'zh-cn' : 'en'));
    if (voice) utterance.voice = voice;
    speechSynthesis.speak(utterance);
  }
}
