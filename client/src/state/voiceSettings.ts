/**
 * The user's voice preferences, kept in localStorage per browser (devices differ per machine):
 * devices, audio processing, push-to-talk and its key, join/leave sounds, the last "Go live"
 * quality. Unknown or damaged values fall back to the defaults.
 */
// Types only: the media layer (quality.ts with it) loads on the first join, not with the page.
import type { QualityPreset } from '../media/quality.ts';
import type { KeyValueStore } from './session.ts';

/** The "Go live" presets in the order the picker shows them (quality.ts's PRESETS; a test keeps the two the same). */
export const PRESET_CHOICES: QualityPreset[] = ['720p30', '1080p60', '1440p60', '2160p60', 'source'];
/** quality.ts's DEFAULT_PRESET. */
const DEFAULT_PRESET: QualityPreset = '1080p60';

export interface VoiceSettings {
  inputDeviceId: string;
  outputDeviceId: string;
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
  pushToTalk: boolean;
  /** KeyboardEvent.code of the push-to-talk key. */
  pttKey: string;
  /** Join/leave and mute/unmute tones. */
  sounds: boolean;
  preset: QualityPreset;
}

export const DEFAULT_VOICE_SETTINGS: VoiceSettings = {
  inputDeviceId: '',
  outputDeviceId: '',
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
  pushToTalk: false,
  pttKey: 'Backquote',
  sounds: true,
  preset: DEFAULT_PRESET,
};

const KEY = 'whisper.voice.settings';

export function loadVoiceSettings(store: KeyValueStore): VoiceSettings {
  let saved: Record<string, unknown> = {};
  try {
    saved = JSON.parse(store.getItem(KEY) ?? '{}') ?? {};
  } catch {
    // damaged: defaults
  }
  const out = { ...DEFAULT_VOICE_SETTINGS };
  for (const k of Object.keys(out) as Array<keyof VoiceSettings>) {
    const v = saved[k];
    if (typeof v === typeof DEFAULT_VOICE_SETTINGS[k]) (out as Record<string, unknown>)[k] = v;
  }
  if (!PRESET_CHOICES.includes(out.preset)) out.preset = DEFAULT_PRESET;
  return out;
}

export function saveVoiceSettings(store: KeyValueStore, settings: VoiceSettings): void {
  store.setItem(KEY, JSON.stringify(settings));
}

/** A key's name as people read it ("`", "F8", "V", "Space"). */
export function keyLabel(code: string): string {
  if (code.startsWith('Key')) return code.slice(3);
  if (code.startsWith('Digit')) return code.slice(5);
  const named: Record<string, string> = { Backquote: '`', Space: 'Space', CapsLock: 'Caps Lock', ShiftLeft: 'Left Shift', ShiftRight: 'Right Shift',
    ControlLeft: 'Left Ctrl', ControlRight: 'Right Ctrl', AltLeft: 'Left Alt', AltRight: 'Right Alt', Backslash: '\\', Minus: '-', Equal: '=' };
  return named[code] ?? code;
}

/** The same key as an Electron accelerator, for the desktop app's global shortcut (undefined: none fits). */
export function keyAccelerator(code: string): string | undefined {
  if (/^Key[A-Z]$/.test(code)) return code.slice(3);
  if (/^Digit\d$/.test(code)) return code.slice(5);
  if (/^F\d{1,2}$/.test(code)) return code;
  const named: Record<string, string> = { Backquote: '`', Space: 'Space', Backslash: '\\', Minus: '-', Equal: '=' };
  return named[code];
}
