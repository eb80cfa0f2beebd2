// "Your upload speed: 40 Mbit/s — about 2 min for 512 MB", before the first byte is sent.

import { estimateSeconds, formatBytes, formatDuration, formatSpeed } from '../../upload';
import type { SpeedState } from './useSpeedTest';

export function SpeedLine({ speed, totalBytes }: { speed: SpeedState; totalBytes: number }) {
  let text: string;
  if (speed.kind === 'measuring') {
    text = 'Measuring your upload speed…';
  } else if (speed.kind === 'failed' || speed.result.bytesPerSecond === null) {
    text = 'Your upload speed could not be measured. Sending works all the same.';
  } else {
    text = `Your upload speed: ${formatSpeed(speed.result.bytesPerSecond)}`;
    const seconds = totalBytes > 0 ? estimateSeconds(totalBytes, speed.result) : null;
    if (seconds !== null) {
      text += ` — about ${formatDuration(Math.max(1, seconds))} for ${formatBytes(totalBytes)}`;
    }
  }
  return (
    <p class="speed-line">
      <span class="speed-icon" aria-hidden="true" />
      {text}
    </p>
  );
}
