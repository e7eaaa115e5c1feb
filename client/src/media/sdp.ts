/** Small SDP edits the browser APIs do not offer. */

/** Adds fmtp parameters to every payload type of a codec (e.g. opus: useinbandfec=1;usedtx=1). */
export function withFmtp(sdp: string, codec: string, params: Record<string, string | number>): string {
  const payloads = [...sdp.matchAll(new RegExp(`a=rtpmap:(\\d+) ${codec}/`, 'gi'))].map((m) => m[1]);
  let out = sdp;
  for (const pt of payloads) {
    const line = new RegExp(`a=fmtp:${pt} ([^\\r\\n]*)`);
    const found = line.exec(out);
    if (found) {
      const current = new Map(found[1].split(';').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
      for (const [k, v] of Object.entries(params)) current.set(k, String(v));
      out = out.replace(line, `a=fmtp:${pt} ${[...current].map(([k, v]) => `${k}=${v}`).join(';')}`);
    } else {
      out = out.replace(new RegExp(`(a=rtpmap:${pt} [^\\r\\n]*\\r?\\n)`), `$1a=fmtp:${pt} ${Object.entries(params).map(([k, v]) => `${k}=${v}`).join(';')}\r\n`);
    }
  }
  return out;
}

/** Opus with in-band FEC (loss recovery) and DTX (no packets in silence). */
export function withOpusFecDtx(sdp: string): string {
  return withFmtp(sdp, 'opus', { useinbandfec: 1, usedtx: 1 });
}

/** Tells the browser's encoder where to start and the least it may go to (Chromium reads these from the remote SDP). */
export function withVideoStartBitrate(sdp: string, startBps: number): string {
  let out = sdp;
  for (const codec of ['VP8', 'VP9', 'AV1', 'H264']) out = withFmtp(out, codec, { 'x-google-start-bitrate': Math.round(startBps / 1000) });
  return out;
}
