/**
 * "Go live" quality presets and codec choice. Bitrates are what the encoder may use at most;
 * the homeserver gives Janus the same cap per preset.
 */

export type QualityPreset = '720p30' | '1080p60' | '1440p60' | '2160p60' | 'source';

export interface PresetSpec {
  width?: number;
  height?: number;
  frameRate?: number;
  /** Encoder ceiling, bits per second. */
  maxBitrate: number;
  /** Where the encoder is asked to start (instead of ramping up from a few hundred kbit/s). */
  startBitrate: number;
}

export const PRESETS: Record<QualityPreset, PresetSpec> = {
  '720p30': { width: 1280, height: 720, frameRate: 30, maxBitrate: 4_000_000, startBitrate: 2_500_000 },
  // The default: 8–12 Mbit/s.
  '1080p60': { width: 1920, height: 1080, frameRate: 60, maxBitrate: 12_000_000, startBitrate: 8_000_000 },
  '1440p60': { width: 2560, height: 1440, frameRate: 60, maxBitrate: 20_000_000, startBitrate: 12_000_000 },
  '2160p60': { width: 3840, height: 2160, frameRate: 60, maxBitrate: 35_000_000, startBitrate: 20_000_000 },
  source: { maxBitrate: 40_000_000, startBitrate: 12_000_000 },
};

export const DEFAULT_PRESET: QualityPreset = '1080p60';

/** What is being shown: games want motion kept smooth, text and slides want detail kept sharp. */
export type ContentKind = 'motion' | 'detail' | 'text';

/** The order Whisper prefers video codecs in (the room on Janus allows the same list). */
export const VIDEO_CODEC_PREFERENCE = ['video/AV1', 'video/VP9', 'video/H264', 'video/VP8'];

/** Codecs whose simulcast Janus relays (layer by layer, per viewer). */
export const SIMULCAST_CODECS = ['video/H264', 'video/VP8'];

/**
 * Software encoders, cheapest first. Measured on a 2-core box (Chromium 156, 1920x1080@60
 * canvas, sender and viewer on the box): OpenH264 encoded 59.8 fps with the box 71% busy;
 * libvpx VP8 only 42 fps with it 98% busy (one encoder thread at 1080p on 2 cores); VP9 and
 * AV1 cost more still.
 */
export const SOFTWARE_CODEC_ORDER = ['video/H264', 'video/VP8', 'video/VP9', 'video/AV1'];

/**
 * The codec order for a stream: `allowed` (AV1, VP9, H.264, VP8 by default) restricted to what
 * this device encodes in hardware at the preset's size and rate (MediaCapabilities says
 * powerEfficient), in that order; then the rest, cheapest software encoder first, so a
 * machine without a hardware encoder still makes 1080p60.
 */
export async function codecOrderFor(preset: PresetSpec, allowed: string[] = VIDEO_CODEC_PREFERENCE): Promise<string[]> {
  const hardware: string[] = [];
  const caps = typeof navigator !== 'undefined' ? navigator.mediaCapabilities : undefined;
  if (caps?.encodingInfo && preset.width && preset.height) {
    for (const codec of allowed) {
      try {
        const info = await caps.encodingInfo({
          type: 'webrtc',
          video: { contentType: codec, width: preset.width, height: preset.height, bitrate: preset.maxBitrate, framerate: preset.frameRate ?? 30 },
        });
        if (info.supported && info.smooth && info.powerEfficient) hardware.push(codec);
      } catch {
        // this browser cannot say: treat the codec as software
      }
    }
  }
  const rest = SOFTWARE_CODEC_ORDER.filter((c) => allowed.includes(c) && !hardware.includes(c));
  return [...hardware, ...rest, ...allowed.filter((c) => !hardware.includes(c) && !rest.includes(c))];
}

/**
 * The browser's video codecs ordered by preference, restricted to `allowed` (both ends must
 * support a codec; Janus's room allows VIDEO_CODEC_PREFERENCE). RTX/RED/FEC entries are kept
 * at the end, as setCodecPreferences needs them for retransmissions.
 */
export function preferredCodecs(capabilities: RTCRtpCapabilities | null, allowed: string[] = VIDEO_CODEC_PREFERENCE): RTCRtpCodec[] {
  if (!capabilities) return [];
  const wanted = allowed.map((m) => m.toLowerCase());
  const main = capabilities.codecs
    .filter((c) => wanted.includes(c.mimeType.toLowerCase()))
    .sort((a, b) => wanted.indexOf(a.mimeType.toLowerCase()) - wanted.indexOf(b.mimeType.toLowerCase()));
  const helpers = capabilities.codecs.filter((c) => /\/(rtx|red|ulpfec|flexfec-03)$/i.test(c.mimeType));
  return [...main, ...helpers];
}
