/**
 * How a new critical alarm gets attention: a tone from a WebAudio oscillator (no audio files
 * to ship or cache) and the alarm spoken with speechSynthesis in the user's language. Browsers
 * only start audio after a user gesture; the login click is one, and a blocked context is
 * resumed on the next click.
 */
import type { Language } from './i18n.ts';

export class AlarmNotifier {
  private audio: AudioContext | null = null;
  /** Counted so tests (and the console's badge) can see a notification happened. */
  notified = 0;

  constructor() {
    document.addEventListener('pointerdown', () => void this.context()?.resume().catch(() => undefined), { passive: true });
  }

  private context(): AudioContext | null {
    if (this.audio) return this.audio;
    if (typeof AudioContext === 'undefined') return null;
    this.audio = new AudioContext();
    return this.audio;
  }

  beep(): void {
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

  speak(text: string, language: Language): void {
    if (typeof speechSynthesis === 'undefined') return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = language;
    const voice = speechSynthesis.getVoices().find((v) => v.lang.replace('_', '-').toLowerCase().startsWith(language === 'zh-CN' ? 'zh-cn' : 'en'));
    if (voice) utterance.voice = voice;
    speechSynthesis.speak(utterance);
  }

  critical(text: string, language: Language): void {
    this.notified++;
    try {
      this.beep();
      this.speak(text, language);
    } catch {
      // Audio is a courtesy: the alarm is already on screen.
    }
  }
}
