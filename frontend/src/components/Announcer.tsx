// One polite and one assertive live region for the whole app, so screen readers hear status
// changes and errors without every component owning a region of its own.

import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useMemo, useRef, useState } from 'preact/hooks';

interface Announce {
  /** A status change: read when the reader is idle. */
  status(message: string): void;
  /** An error: read at once. */
  error(message: string): void;
}

const AnnounceContext = createContext<Announce>({ status: () => undefined, error: () => undefined });

export const useAnnounce = () => useContext(AnnounceContext);

export function Announcer({ children }: { children: ComponentChildren }) {
  const [polite, setPolite] = useState('');
  const [assertive, setAssertive] = useState('');
  const timers = useRef<ReturnType<typeof setTimeout>[]>([]);

  // Emptying the region first makes a repeated message be read again.
  const say = useCallback((set: (m: string) => void, message: string) => {
    set('');
    timers.current.push(setTimeout(() => set(message), 60));
  }, []);

  const value = useMemo<Announce>(
    () => ({ status: (m) => say(setPolite, m), error: (m) => say(setAssertive, m) }),
    [say],
  );

  return (
    <AnnounceContext.Provider value={value}>
      {children}
      <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
        {polite}
      </div>
      <div class="visually-hidden" role="alert" aria-live="assertive" aria-atomic="true">
        {assertive}
      </div>
    </AnnounceContext.Provider>
  );
}
