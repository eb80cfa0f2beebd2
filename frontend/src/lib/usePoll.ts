// Loads something, then loads it again while it is still changing: the interval comes from the
// last answer (null stops). Polling pauses while the tab is hidden and catches up when it shows.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, isAbort } from '../api/problems';

export interface Poll<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  /** Loads at once (after an action), and resumes polling if the answer calls for it. */
  reload: () => Promise<void>;
  /** Puts an answer the page already has (an action's response) in place of the last load. */
  setData: (data: T) => void;
}

/** Errors that will not go away by asking again. */
const isFinalError = (e: unknown) => e instanceof ApiError && [401, 403, 404, 410].includes(e.status);

export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  interval: (data: T) => number | null,
  key: string,
): Poll<T> {
  const [data, setDataState] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  const controller = useRef<AbortController | null>(null);
  const latest = useRef<T | null>(null);
  const stopped = useRef(false);
  const loadRef = useRef(load);
  const intervalRef = useRef(interval);
  loadRef.current = load;
  intervalRef.current = interval;

  const schedule = useCallback((ms: number | null) => {
    clearTimeout(timer.current);
    stopped.current = ms === null;
    if (ms !== null && document.visibilityState === 'visible') {
      timer.current = setTimeout(() => void run(), ms);
    }
  }, []);

  const run = useCallback(async () => {
    clearTimeout(timer.current);
    controller.current?.abort();
    const c = new AbortController();
    controller.current = c;
    try {
      const value = await loadRef.current(c.signal);
      if (c.signal.aborted) return;
      latest.current = value;
      setDataState(value);
      setError(null);
      setLoading(false);
      schedule(intervalRef.current(value));
    } catch (e) {
      if (c.signal.aborted || isAbort(e)) return;
      setError(e);
      setLoading(false);
      // A network hiccup is retried a little later; a refusal is final.
      schedule(isFinalError(e) ? null : 5000);
    }
  }, [schedule]);

  useEffect(() => {
    latest.current = null;
    setDataState(null);
    setLoading(true);
    setError(null);
    void run();
    const onVisibility = () => {
      if (document.visibilityState === 'hidden') clearTimeout(timer.current);
      else if (!stopped.current) void run();
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      clearTimeout(timer.current);
      controller.current?.abort();
    };
  }, [key, run]);

  const setData = useCallback(
    (value: T) => {
      latest.current = value;
      setDataState(value);
      setError(null);
      schedule(intervalRef.current(value));
    },
    [schedule],
  );

  return { data, error, loading, reload: run, setData };
}
