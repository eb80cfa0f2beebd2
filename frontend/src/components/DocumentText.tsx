// A document's extracted text: the preview at once, the whole text when the reader asks for it.

import { useState } from 'preact/hooks';
import type { ApiClient } from '../api/client';
import { documentText } from '../api/ferry';
import { describeError } from '../api/problems';
import type { DocumentText as Text, FerryDocument } from '../api/types';

export function DocumentText({ api, transferId, doc }: { api: ApiClient; transferId: string; doc: FerryDocument }) {
  const [text, setText] = useState<Text | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  if (doc.engine === 'none' || (!doc.text_preview && doc.pages === 0)) {
    return <p class="muted">No text could be read from this file (pictures and scans may have none).</p>;
  }
  if (!doc.text_preview) return null;

  const load = async (open: boolean) => {
    if (!open || text || loading) return;
    setLoading(true);
    setError(null);
    try {
      setText(await documentText(api, transferId, doc.id));
    } catch (e) {
      setError(describeError(e, 'text'));
    } finally {
      setLoading(false);
    }
  };

  return (
    <div class="doc-text">
      <p class="label">Text preview</p>
      <blockquote class="text-preview">{doc.text_preview}</blockquote>
      <details onToggle={(e) => void load((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>Show the full text</summary>
        {loading && <p class="muted">Loading the text…</p>}
        {error && <p class="field-error">{error}</p>}
        {text && (
          <div class="text-pages">
            {text.pages.length === 0 && <p class="muted">This document has no text.</p>}
            {text.pages.map((p) => (
              <section key={p.number} class="text-page" aria-label={`Page ${p.number}`}>
                {text.pages.length > 1 && <p class="label">Page {p.number}</p>}
                <pre>{p.text}</pre>
              </section>
            ))}
            {text.truncated && (
              <p class="muted">The text was cut here: the document is longer than Ferry extracts.</p>
            )}
          </div>
        )}
      </details>
    </div>
  );
}
