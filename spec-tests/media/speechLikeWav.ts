/**
 * A WAV file for Chromium's fake microphone (--use-file-for-fake-audio-capture, looped) that
 * sounds like someone talking without pause: a 150 Hz voice with harmonics, its loudness rising
 * and falling four times a second like syllables. Chromium's default fake microphone only
 * beeps for 20 ms every half second, which Janus's talking detection (the level averaged over
 * ½ s of packets) rightly takes for silence.
 */
import { writeFileSync } from 'node:fs';

const RATE = 48_000;

export function writeSpeechLikeWav(file: string, seconds = 2): void {
  const samples = RATE * seconds;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    const t = i / RATE;
    const voice = [1, 0.5, 0.33, 0.25].reduce((sum, a, k) => sum + a * Math.sin(2 * Math.PI * 150 * (k + 1) * t), 0) / 2.1;
    // Syllables: loudness between 35% and 100%, never silent.
    const envelope = 0.675 + 0.325 * Math.sin(2 * Math.PI * 4 * t);
    data.writeInt16LE(Math.round(voice * envelope * 0.5 * 32767), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(file, Buffer.concat([header, data]));
}
