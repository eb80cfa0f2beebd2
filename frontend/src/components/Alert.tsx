// A visible message box; errors are also read out through the assertive live region.

import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { useAnnounce } from './Announcer';

export function ErrorMessage({ message, children }: { message: string | null; children?: ComponentChildren }) {
  const announce = useAnnounce();
  useEffect(() => {
    if (message) announce.error(message);
  }, [message, announce]);
  if (!message) return null;
  return (
    <div class="notice notice-error">
      <p>{message}</p>
      {children}
    </div>
  );
}

export function Notice({
  tone = 'info',
  children,
}: {
  tone?: 'info' | 'success' | 'warning';
  children: ComponentChildren;
}) {
  return <div class={`notice notice-${tone}`}>{children}</div>;
}
