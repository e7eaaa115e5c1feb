// A 1920x1080 canvas source whose every frame carries the time it was drawn (ms since the
// epoch) as 48 black/white blocks along the top edge, and a viewer-side reader that decodes
// the blocks from the received video to measure glass-to-glass latency (both pages share the
// same clock: they run in one browser).
import { withOpusFecDtx } from '/media/sdp.ts';

const BITS = 48;
const BLOCK = 32;
/** The width stampedSource draws at by default (what readStamps takes the stamp's size from). */
const SOURCE_WIDTH = 1920;

export function stampedSource(width = SOURCE_WIDTH, height = 1080, fps = 60) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#303848';
  ctx.fillRect(0, 0, width, height);
  window.framesDrawn = 0;
  let last = 0;
  const side = 200;
  const draw = () => {
    const n = ++window.framesDrawn;
    ctx.fillStyle = '#303848';
    ctx.fillRect(last, 440, side, side);
    last = (n * 16) % (width - side);
    ctx.fillStyle = '#e0e0e0';
    ctx.fillRect(last, 440, side, side);
    const t = Date.now();
    for (let i = 0; i < BITS; i++) {
      ctx.fillStyle = Math.floor(t / 2 ** i) % 2 ? '#fff' : '#000';
      ctx.fillRect(i * BLOCK, 0, BLOCK, BLOCK);
    }
  };
  const minInterval = 1000 / fps - 2;
  let lastDraw = 0;
  const tick = (now) => {
    if (now - lastDraw >= minInterval) {
      lastDraw = now;
      draw();
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return canvas.captureStream(fps);
}

/** Plays the stream and records (now - stamp) for each presented frame in window.latencies. */
export function readStamps(stream) {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.srcObject = stream;
  document.body.append(video);
  const canvas = document.createElement('canvas');
  canvas.width = BITS * BLOCK;
  canvas.height = BLOCK;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  window.latencies = [];
  window.framesPresented = 0;
  const onFrame = () => {
    const now = Date.now();
    window.framesPresented++;
    if (video.videoWidth > 0) {
      // The sender may scale the picture down when its CPU runs short: read the stamp at that scale.
      const scale = video.videoWidth / SOURCE_WIDTH;
      ctx.drawImage(video, 0, 0, BITS * BLOCK * scale, BLOCK * scale, 0, 0, BITS * BLOCK, BLOCK);
      const px = ctx.getImageData(0, 0, BITS * BLOCK, BLOCK).data;
      let t = 0;
      for (let i = 0; i < BITS; i++) {
        const o = ((BLOCK >> 1) * BITS * BLOCK + i * BLOCK + (BLOCK >> 1)) * 4;
        if (px[o] + px[o + 1] + px[o + 2] > 384) t += 2 ** i;
      }
      const latency = now - t;
      if (latency >= 0 && latency < 10_000) window.latencies.push(latency);
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return video;
}

/**
 * The bare baseline: a minimal Janus VideoRoom client speaking the Janus API over WebSocket
 * (no Whisper anywhere), publishing or subscribing one feed.
 */
export async function bareJanus(url) {
  const ws = new WebSocket(url, 'janus-protocol');
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('janus websocket failed'));
  });
  let tx = 0;
  const pending = new Map();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.janus === 'ack' || !m.transaction || !pending.has(m.transaction)) return;
    pending.get(m.transaction)(m);
    pending.delete(m.transaction);
  };
  const send = (body) => new Promise((resolve, reject) => {
    const transaction = String(++tx);
    pending.set(transaction, (m) => (m.janus === 'error' || m.plugindata?.data?.error ? reject(new Error(JSON.stringify(m))) : resolve(m)));
    ws.send(JSON.stringify({ ...body, transaction }));
  });
  const session = (await send({ janus: 'create' })).data.id;
  setInterval(() => ws.send(JSON.stringify({ janus: 'keepalive', session_id: session, transaction: 'k' + ++tx })), 20_000);
  const attach = async () => {
    const handle = (await send({ janus: 'attach', session_id: session, plugin: 'janus.plugin.videoroom' })).data.id;
    return {
      message: (body, jsep) => send({ janus: 'message', session_id: session, handle_id: handle, body, ...(jsep ? { jsep } : {}) }),
      trickle: (candidate) => ws.send(JSON.stringify({ janus: 'trickle', session_id: session, handle_id: handle, candidate: candidate ?? { completed: true }, transaction: 't' + ++tx })),
    };
  };
  const peer = (h) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc.onicecandidate = (e) => h.trickle(e.candidate ? { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } : null);
    return pc;
  };
  /** Publishes on a new handle and PeerConnection: `addTracks` adds the transceivers, `munge` edits Janus's answer. */
  const publishOn = async (room, display, bitrate, addTracks, munge = (sdp) => sdp) => {
    const h = await attach();
    const joined = await h.message({ request: 'join', ptype: 'publisher', room, display });
    const pc = peer(h);
    await addTracks(pc);
    const offer = await pc.createOffer();
    offer.sdp = withOpusFecDtx(offer.sdp);
    await pc.setLocalDescription(offer);
    const answer = await h.message({ request: 'configure', bitrate }, { type: 'offer', sdp: offer.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: munge(withOpusFecDtx(answer.jsep.sdp)) });
    return { h, pc, feed: joined.plugindata.data.id };
  };
  return {
    /** The room, with Whisper's audio settings (Opus, FEC, DTX) and room for everyone's microphone and the stream. */
    async createRoom(room, { codec, maxBitrate }) {
      const h = await attach();
      await h.message({ request: 'create', room, publishers: 16, bitrate: maxBitrate, audiocodec: 'opus', opus_fec: true, opus_dtx: true, videocodec: codec.replace('video/', '').toLowerCase() });
    },
    /**
     * A call's microphone as Whisper's client publishes it (the same processing constraints,
     * Opus with FEC and DTX, 128 kbit/s cap), muted the way Whisper mutes: the track disabled
     * and Janus told not to relay it. Resolves with the feed.
     */
    async publishMic(room) {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 }, video: false });
      const [track] = mic.getAudioTracks();
      track.enabled = false;
      const { h, feed } = await publishOn(room, 'bare mic', 128_000, (pc) => pc.addTransceiver(track, { direction: 'sendonly', streams: [mic] }));
      await h.message({ request: 'configure', streams: [{ mid: '0', send: false }] });
      return feed;
    },
    /**
     * The stream: one layer, or (simulcast) the three Whisper's "go live" sends (h, m, l at
     * full, 1/2 and 1/4 size, 1/1, 1/4 and 1/16 of the bitrate). startBitrate: where the encoder
     * starts (as x-google-start-bitrate in Janus's answer; Whisper's client does the same).
     */
    async publish(room, stream, { codec, maxBitrate, fps, startBitrate, simulcast }) {
      const { pc, feed } = await publishOn(room, 'bare', maxBitrate, async (pc) => {
        const track = stream.getVideoTracks()[0];
        track.contentHint = 'motion';
        const layer = (rid, scale) => ({ ...(simulcast ? { rid } : {}), maxBitrate: Math.round(maxBitrate / scale ** 2), maxFramerate: fps, scaleResolutionDownBy: scale });
        const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings: simulcast ? [layer('h', 1), layer('m', 2), layer('l', 4)] : [layer('h', 1)] });
        const caps = RTCRtpSender.getCapabilities('video').codecs;
        t.setCodecPreferences([...caps.filter((c) => c.mimeType.toLowerCase() === codec.toLowerCase()), ...caps.filter((c) => /\/(rtx|red|ulpfec)$/i.test(c.mimeType))]);
        const params = t.sender.getParameters();
        params.degradationPreference = 'maintain-framerate';
        await t.sender.setParameters(params).catch(() => {});
      }, (sdp) => (startBitrate ? sdp.replace(/a=fmtp:(\d+) ([^\r\n]*packetization-mode[^\r\n]*)/g, `a=fmtp:$1 $2;x-google-start-bitrate=${Math.round(startBitrate / 1000)}`) : sdp));
      window.publisherPc = pc;
      return feed;
    },
    /** Receives a feed; the stream's PeerConnection (video) is window.viewerPc. */
    async subscribe(room, feed) {
      const h = await attach();
      // Janus lists the feed once its PeerConnection is up on Janus's side too: retry a moment.
      let attached;
      for (let attempt = 0; !attached; attempt++) {
        attached = await h.message({ request: 'join', ptype: 'subscriber', room, streams: [{ feed }] }).catch(async (err) => {
          if (attempt >= 50 || !/No such feed/.test(String(err))) throw err;
          await new Promise((r) => setTimeout(r, 100));
        });
      }
      const pc = peer(h);
      const stream = new MediaStream();
      pc.ontrack = (e) => stream.addTrack(e.track);
      await pc.setRemoteDescription(attached.jsep);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await h.message({ request: 'start' }, { type: 'answer', sdp: answer.sdp });
      if (pc.getReceivers().some((r) => r.track.kind === 'video')) window.viewerPc = pc;
      return stream;
    },
  };
}
