// The upload running in this tab: total progress, speed, time left, an offline notice and Cancel.

import type { UploadRun } from '../../state/uploads';
import { formatBytes, formatDuration, formatSpeed } from '../../upload';
import { ErrorMessage, Notice } from '../../components/Alert';
import { useOnline } from '../../lib/useOnline';
import { useAnnounce } from '../../components/Announcer';
import { useEffect, useRef } from 'preact/hooks';

export function UploadPanel({ run, onCancel }: { run: UploadRun; onCancel: () => void }) {
  const files = Object.values(run.files);
  const sent = run.progress?.sentBytes ?? files.reduce((s, f) => s + f.sentBytes, 0);
  const total = run.progress?.totalBytes ?? files.reduce((s, f) => s + f.totalBytes, 0);
  const percent = total > 0 ? Math.floor((sent / total) * 100) : 0;
  const speed = run.progress?.bytesPerSecond ?? 0;
  const left = run.progress?.secondsLeft ?? null;
  // The browser's own signal shows at once; the engine's tells when a request is waiting for it.
  const online = useOnline();
  const offline = !online || run.progress?.offline === true;
  const announce = useAnnounce();
  const wasOffline = useRef(false);
  useEffect(() => {
    if (run.phase !== 'uploading' || offline === wasOffline.current) return;
    wasOffline.current = offline;
    announce.status(offline ? 'Offline. The upload waits for the network.' : 'Back online. The upload goes on.');
  }, [offline, run.phase, announce]);

  if (run.phase === 'finished') {
    return (
      <Notice tone="success">
        <p>Every file is uploaded. Ferry is now checking them; the recipients are emailed once that is done.</p>
      </Notice>
    );
  }
  if (run.phase === 'cancelled') {
    return (
      <Notice tone="warning">
        <p>The upload was stopped.</p>
      </Notice>
    );
  }
  if (run.phase === 'failed') {
    return <ErrorMessage message={`${run.error ?? 'The upload failed.'} You can try again below.`} />;
  }
  return (
    <section class="card upload-panel" aria-labelledby="upload-title">
      <h2 id="upload-title">Uploading</h2>
      {offline && (
        <Notice tone="warning">
          <p>Offline — waiting for the network. The upload goes on by itself once you are back online.</p>
        </Notice>
      )}
      <p class="progress-label" id="upload-total-label">
        {percent} % — {formatBytes(sent)} of {formatBytes(total)}
      </p>
      <progress class="progress progress-large" max={total || 1} value={sent} aria-labelledby="upload-total-label" />
      <p class="muted">
        {total > 0 && sent >= total
          ? 'Finishing the upload…'
          : offline
            ? 'Paused until the network is back.'
            : speed > 0
            ? `${formatSpeed(speed)}${left !== null && left >= 1 ? ` · about ${formatDuration(left)} left` : ''}`
            : 'Starting…'}
      </p>
      <p class="hint">Keep this tab open until the upload is done. You may look at other pages of Ferry meanwhile.</p>
      <div class="actions">
        <button type="button" class="button-danger" onClick={onCancel}>
          Cancel upload
        </button>
      </div>
    </section>
  );
}
