// Measures the upload speed once the page opens (again if it failed and files are added): the
// estimate is shown before the first byte, and the result sets how many parts go at once.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { uploadApi } from '../../api/ferry';
import { measureUploadSpeed } from '../../upload';
import type { SpeedResult } from '../../upload/types';

export type SpeedState =
  | { kind: 'measuring' }
  | { kind: 'done'; result: SpeedResult }
  | { kind: 'failed' };

export function useSpeedTest(api: ApiClient, enabled: boolean): { speed: SpeedState; remeasure: () => void } {
  const [speed, setSpeed] = useState<SpeedState>({ kind: 'measuring' });
  const [attempt, setAttempt] = useState(0);
  const running = useRef(false);

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    running.current = true;
    setSpeed({ kind: 'measuring' });
    measureUploadSpeed(uploadApi(api), controller.signal)
      .then((result) => setSpeed(result.bytesPerSecond === null ? { kind: 'failed' } : { kind: 'done', result }))
      .catch(() => {
        if (!controller.signal.aborted) setSpeed({ kind: 'failed' });
      })
      .finally(() => (running.current = false));
    return () => controller.abort();
  }, [api, enabled, attempt]);

  const remeasure = useCallback(() => {
    if (!running.current) setAttempt((n) => n + 1);
  }, []);

  return { speed, remeasure };
}
