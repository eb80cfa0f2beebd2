// A few lines to copy as they are (an example file), kept on their own lines, with a Copy button.

import { useEffect, useRef, useState } from 'preact/hooks';
import { useAnnounce } from './Announcer';

export function CopyBlock({ label, value }: { label: string; value: string }) {
  const announce = useAnnounce();
  const [copied, setCopied] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      announce.status(`${label} copied`);
      clearTimeout(timer.current);
      timer.current = setTimeout(() => setCopied(false), 2000);
    } catch {
      announce.error(`Could not copy the ${label}. Select the text and copy it instead.`);
    }
  };

  return (
    <div>
      <pre class="hash client-env" aria-label={label}>
        {value}
      </pre>
      <button type="button" class="button-small" onClick={copy} aria-label={`Copy ${label}`}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
