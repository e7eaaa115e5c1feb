/**
 * What the call's getStats() samples mean to a person: the connection quality shown beside
 * "Voice connected" (round trip, loss, good / fair / poor), and each watched stream's overlay
 * (resolution, fps, bitrate, latency, loss). Rates come from two samples, so these take the
 * previous sample too.
 */
import type { MediaSummary, VoiceStats } from '../media/voiceConnection.ts';

export interface Sample {
  stats: VoiceStats;
  at: number;
}

export type QualityLevel = 'good' | 'fair' | 'poor' | 'unknown';

export interface ConnectionQuality {
  rttMs?: number;
  lossPct?: number;
  level: QualityLevel;
}

export interface StreamStats {
  width?: number;
  height?: number;
  fps?: number;
  kbps?: number;
  /** Round trip / 2 plus the time frames wait in the jitter buffer: roughly network-to-screen. */
  latencyMs?: number;
  lossPct?: number;
  codec?: string;
}

/** Thresholds as voice apps commonly draw them: above 250 ms or 5 % loss a call feels poor. */
const FAIR_RTT_MS = 150;
const POOR_RTT_MS = 250;
const FAIR_LOSS_PCT = 1;
const POOR_LOSS_PCT = 5;

function lossBetween(prev: MediaSummary | undefined, cur: MediaSummary): number | undefined {
  if (!prev || cur.packetsReceived === undefined || prev.packetsReceived === undefined) return undefined;
  const lost = cur.packetsLost - prev.packetsLost;
  const got = cur.packetsReceived - prev.packetsReceived;
  return lost + got > 0 ? (Math.max(0, lost) / (Math.max(0, lost) + got)) * 100 : undefined;
}

export function connectionQuality(prev: Sample | undefined, cur: Sample): ConnectionQuality {
  const voice = cur.stats.publishers.voice;
  const rtt = voice?.roundTripTime ?? Object.values(cur.stats.received).find((r) => r.roundTripTime !== undefined)?.roundTripTime;
  const rttMs = rtt === undefined ? undefined : Math.round(rtt * 1000);
  let lost = 0;
  let total = 0;
  for (const [feed, r] of Object.entries(cur.stats.received)) {
    const p = prev?.stats.received[Number(feed)];
    if (!p || r.kind !== 'voice' || r.packetsReceived === undefined || p.packetsReceived === undefined) continue;
    const l = Math.max(0, r.packetsLost - p.packetsLost);
    lost += l;
    total += l + Math.max(0, r.packetsReceived - p.packetsReceived);
  }
  const lossPct = total > 0 ? (lost / total) * 100 : undefined;
  const level: QualityLevel = rttMs === undefined && lossPct === undefined ? 'unknown'
    : (rttMs ?? 0) > POOR_RTT_MS || (lossPct ?? 0) > POOR_LOSS_PCT ? 'poor'
      : (rttMs ?? 0) > FAIR_RTT_MS || (lossPct ?? 0) > FAIR_LOSS_PCT ? 'fair' : 'good';
  return { rttMs, lossPct, level };
}

export function streamStats(prev: Sample | undefined, cur: Sample, feed: number): StreamStats | undefined {
  const r = cur.stats.received[feed];
  if (!r) return undefined;
  const p = prev?.stats.received[feed];
  const seconds = prev ? (cur.at - prev.at) / 1000 : 0;
  const kbps = p && seconds > 0 ? Math.max(0, ((r.bytesReceived - p.bytesReceived) * 8) / seconds / 1000) : undefined;
  const fps = r.framesPerSecond ?? (p && seconds > 0 && r.framesDecoded !== undefined && p.framesDecoded !== undefined ? (r.framesDecoded - p.framesDecoded) / seconds : undefined);
  const latencyMs = r.roundTripTime !== undefined || r.jitterBufferMs !== undefined
    ? Math.round(((r.roundTripTime ?? 0) * 1000) / 2 + (r.jitterBufferMs ?? 0)) : undefined;
  return { width: r.frameWidth, height: r.frameHeight, fps, kbps, latencyMs, lossPct: lossBetween(p, r), codec: r.codec?.replace(/^video\//, '') };
}

/** "8.2 Mbit/s" or "640 kbit/s". */
export function formatBitrate(kbps: number | undefined): string {
  if (kbps === undefined) return '–';
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${Math.round(kbps)} kbit/s`;
}
