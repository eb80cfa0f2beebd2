// Ask Ferry to push the documents to the recipient's own system: presigned PUT URLs (one per
// ready document, e.g. S3) or an HTTPS webhook that receives a signed manifest.

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { createDelivery } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { Delivery, DeliveryDestination, FerryDocument } from '../../api/types';
import { ErrorMessage } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';

type Kind = 's3_presigned' | 'webhook';

const isWebUrl = (s: string) => {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
};

/** 32 random bytes, URL-safe base64: a secret nobody has to invent. */
function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function DeliveryForm({
  api,
  transferId,
  documents,
  onCreated,
}: {
  api: ApiClient;
  transferId: string;
  documents: FerryDocument[];
  onCreated: (d: Delivery) => void;
}) {
  const announce = useAnnounce();
  const [kind, setKind] = useState<Kind>('s3_presigned');
  const [urls, setUrls] = useState<Record<string, string>>({});
  const [hook, setHook] = useState('');
  const [secret, setSecret] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const check = (): Record<string, string> => {
    const errs: Record<string, string> = {};
    if (kind === 's3_presigned') {
      for (const d of documents) {
        const u = (urls[d.id] ?? '').trim();
        if (!u) errs[`url-${d.id}`] = 'Enter the URL this document should be uploaded to.';
        else if (!isWebUrl(u)) errs[`url-${d.id}`] = 'This is not a web address (it starts with https://).';
      }
    } else {
      if (!hook.trim()) errs.hook = 'Enter the address of your webhook.';
      else if (!isWebUrl(hook.trim())) errs.hook = 'This is not a web address (it starts with https://).';
      const bytes = new TextEncoder().encode(secret).length;
      if (bytes < 16) errs.secret = 'The secret needs at least 16 characters.';
      else if (bytes > 256) errs.secret = 'The secret may have at most 256 characters.';
    }
    return errs;
  };

  const submit = async (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    const errs = check();
    setFieldErrors(errs);
    setError(null);
    const first = Object.keys(errs)[0];
    if (first) {
      document.getElementById(`delivery-${first}`)?.focus();
      announce.error(errs[first]);
      return;
    }
    const destination: DeliveryDestination =
      kind === 's3_presigned'
        ? { type: 's3_presigned', urls: Object.fromEntries(documents.map((d) => [d.id, urls[d.id].trim()])) }
        : { type: 'webhook', url: hook.trim(), secret };
    setBusy(true);
    try {
      const delivery = await createDelivery(api, transferId, destination);
      announce.status('Ferry is sending the documents to your system.');
      onCreated(delivery);
    } catch (err) {
      setError(describeError(err, 'delivery'));
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (id: string) =>
    fieldErrors[id] ? (
      <p id={`delivery-${id}-error`} class="field-error">
        {fieldErrors[id]}
      </p>
    ) : null;
  const described = (id: string, hint?: string) =>
    [hint, fieldErrors[id] ? `delivery-${id}-error` : ''].filter(Boolean).join(' ') || undefined;

  return (
    <form class="delivery-form" onSubmit={submit} noValidate>
      <ErrorMessage message={error} />
      <fieldset class="choice">
        <legend>Where should Ferry send the documents?</legend>
        <label class="radio">
          <input type="radio" name="delivery-kind" checked={kind === 's3_presigned'} onChange={() => setKind('s3_presigned')} />
          <span>
            <strong>Upload URLs</strong>
            <span class="hint">One URL per document that accepts a PUT, such as an S3 presigned URL of your bucket.</span>
          </span>
        </label>
        <label class="radio">
          <input type="radio" name="delivery-kind" checked={kind === 'webhook'} onChange={() => setKind('webhook')} />
          <span>
            <strong>Webhook</strong>
            <span class="hint">Your HTTPS endpoint receives a signed list of the documents with download links.</span>
          </span>
        </label>
      </fieldset>

      {kind === 's3_presigned' ? (
        documents.map((d) => (
          <div class="field" key={d.id}>
            <label for={`delivery-url-${d.id}`}>Upload URL for {d.name}</label>
            <input
              id={`delivery-url-${d.id}`}
              type="url"
              inputMode="url"
              spellcheck={false}
              autoComplete="off"
              placeholder="https://"
              value={urls[d.id] ?? ''}
              aria-invalid={fieldErrors[`url-${d.id}`] ? true : undefined}
              aria-describedby={described(`url-${d.id}`)}
              onInput={(e) => setUrls({ ...urls, [d.id]: e.currentTarget.value })}
            />
            {fieldError(`url-${d.id}`)}
          </div>
        ))
      ) : (
        <>
          <div class="field">
            <label for="delivery-hook">Webhook URL</label>
            <input
              id="delivery-hook"
              type="url"
              inputMode="url"
              spellcheck={false}
              autoComplete="off"
              placeholder="https://"
              value={hook}
              aria-invalid={fieldErrors.hook ? true : undefined}
              aria-describedby={described('hook')}
              onInput={(e) => setHook(e.currentTarget.value)}
            />
            {fieldError('hook')}
          </div>
          <div class="field">
            <label for="delivery-secret">Shared secret</label>
            <p id="delivery-secret-hint" class="hint">
              16 to 256 characters. Ferry signs each delivery with it (the Ferry-Signature header), so your system can check
              that it comes from Ferry. Keep a copy.
            </p>
            <div class="input-row">
              <input
                id="delivery-secret"
                type="text"
                spellcheck={false}
                autoComplete="off"
                class="mono"
                value={secret}
                aria-invalid={fieldErrors.secret ? true : undefined}
                aria-describedby={described('secret', 'delivery-secret-hint')}
                onInput={(e) => setSecret(e.currentTarget.value)}
              />
              <button type="button" class="button-secondary" onClick={() => setSecret(randomSecret())}>
                Generate one
              </button>
            </div>
            {fieldError('secret')}
          </div>
        </>
      )}
      <div class="actions">
        <button type="submit" class="button-primary" disabled={busy}>
          {busy ? 'Sending…' : 'Send to my system'}
        </button>
      </div>
    </form>
  );
}
