/**
 * Who is speaking, from audio levels (0..1, as WebRTC's getStats() audioLevel reports them):
 * a level at or above the threshold starts speaking at once; speaking ends only after the
 * level stayed below it for `holdMs`, so the indicator does not flicker between words.
 */

export interface SpeakingOptions {
  /** 0.02 ≈ -34 dBov: quiet speech counts, a fan or keyboard at normal distance mostly not. */
  threshold: number;
  holdMs: number;
}

export const DEFAULT_SPEAKING: SpeakingOptions = { threshold: 0.02, holdMs: 400 };

export class SpeakingDetector {
  private readonly options: SpeakingOptions;
  /** Speakers now, with when their level was last loud enough. */
  private readonly lastLoud = new Map<string, number>();

  constructor(options: Partial<SpeakingOptions> = {}) {
    this.options = { ...DEFAULT_SPEAKING, ...options };
  }

  /** Feeds one level reading; returns the change it makes, if any. */
  update(id: string, level: number, now: number): boolean | undefined {
    const speaking = this.lastLoud.has(id);
    if (level >= this.options.threshold) {
      this.lastLoud.set(id, now);
      return speaking ? undefined : true;
    }
    if (speaking && now - this.lastLoud.get(id)! >= this.options.holdMs) {
      this.lastLoud.delete(id);
      return false;
    }
    return undefined;
  }

  /** The speaker went away (left, muted, stream ended): true when it was speaking. */
  forget(id: string): boolean {
    return this.lastLoud.delete(id);
  }

  isSpeaking(id: string): boolean {
    return this.lastLoud.has(id);
  }

  get speakers(): string[] {
    return [...this.lastLoud.keys()];
  }
}
