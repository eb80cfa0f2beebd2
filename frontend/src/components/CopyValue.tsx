// A long value (a checksum) shown in full, wrapping, with a button that copies it.

import { useState } from 'preact/hooks';
import { useAnnounce } from './Announcer';

export function CopyValue({ label, value }: { label: string; value: string }) {
  const announce = useAnnounce();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      announce.status(`${label} copied`);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      announce.error(`Could not copy the ${label}. Select the text and copy it instead.`);
    }
  };
  return (
    <div class="copy-value">
      <dt>{label}</dt>
      <dd>
        <code class="hash">{value}</code>
        <button type="button" class="button-small" onClick={copy} aria-label={`Copy ${label}`}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </dd>
    </div>
  );
}
