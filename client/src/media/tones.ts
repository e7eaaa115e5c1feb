/**
 * The call's sound cues, synthesised with WebAudio (no audio files to download or license):
 * rising notes when someone joins, falling when someone leaves, a low blip on mute and a
 * higher one on unmute. The AudioContext is made on first use (browsers allow it after a click,
 * and joining a call is one).
 */

export type Cue = 'join' | 'leave' | 'mute' | 'unmute';

/** Notes (Hz) and their length (s) per cue. */
const CUES: Record<Cue, Array<[number, number]>> = {
  join: [[523.25, 0.09], [783.99, 0.14]],
  leave: [[783.99, 0.09], [523.25, 0.14]],
  mute: [[392, 0.08]],
  unmute: [[659.25, 0.08]],
};
const VOLUME = 0.12;

export class CuePlayer {
  private ctx: AudioContext | undefined;
  /** Cues played so far, by kind (what a test or a screen reader hint can read). */
  readonly played: Record<Cue, number> = { join: 0, leave: 0, mute: 0, unmute: 0 };

  play(cue: Cue, sinkId?: string): void {
    this.played[cue]++;
    if (typeof AudioContext === 'undefined') return;
    const ctx = (this.ctx ??= new AudioContext());
    const sinkable = ctx as AudioContext & { setSinkId?: (id: string) => Promise<void>; sinkId?: string };
    if (sinkId !== undefined && sinkable.setSinkId && sinkable.sinkId !== sinkId) void sinkable.setSinkId(sinkId).catch(() => {});
    void ctx.resume().catch(() => {});
    let t = ctx.currentTime + 0.01;
    for (const [freq, len] of CUES[cue]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      // A short attack and release: a bare start/stop clicks.
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(VOLUME, t + 0.01);
      gain.gain.setValueAtTime(VOLUME, t + len - 0.03);
      gain.gain.linearRampToValueAtTime(0, t + len);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + len + 0.01);
      t += len;
    }
  }

  close(): void {
    void this.ctx?.close().catch(() => {});
    this.ctx = undefined;
  }
}
