// The drop folder's defaults: who files without a manifest go to, and the subject and message
// that files get when their manifest names none.

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { saveDropFolder } from '../../api/ferry';
import { ApiError, asSentence, describeError } from '../../api/problems';
import type { DropFolder } from '../../api/types';
import { ErrorMessage, Notice } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { RecipientsInput } from '../../components/RecipientsInput';
import { type Chip, addAddresses, recipientsProblem } from '../../lib/recipients';

export const MAX_SUBJECT = 200;
export const MAX_MESSAGE = 5000;

// The server names the field at the start of its detail ("default_recipients: …").
const FIELD_NAMES: [RegExp, string][] = [
  [/^default_recipients:\s*/, 'Default recipients: '],
  [/^subject:\s*/, 'Subject: '],
  [/^message:\s*/, 'Message: '],
];

function describeSaveError(err: unknown): string {
  if (err instanceof ApiError && err.status === 400 && err.slug !== 'invalid-json') {
    const detail = FIELD_NAMES.reduce((d, [field, name]) => d.replace(field, name), err.detail.trim());
    return detail ? `Not saved. ${asSentence(detail)}` : 'Not saved. Check what you entered.';
  }
  if (err instanceof ApiError && err.status === 403) {
    return 'Only members have a drop folder. Ask an administrator to give you the member role.';
  }
  return `Not saved. ${describeError(err)}`;
}

const chipsOf = (addresses: string[]) => addAddresses([], addresses);

export function DropFolderForm({
  api,
  folder,
  onSaved,
}: {
  api: ApiClient;
  folder: DropFolder;
  onSaved: (folder: DropFolder) => void;
}) {
  const announce = useAnnounce();
  const [chips, setChips] = useState<Chip[]>(() => chipsOf(folder.default_recipients));
  const [subject, setSubject] = useState(folder.subject ?? '');
  const [message, setMessage] = useState(folder.message ?? '');
  const [recipientsError, setRecipientsError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  // A "Saved" left on screen after a change would claim the change was saved.
  const edited =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      setSaved(false);
    };

  const submit = async (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSaved(false);
    setError(null);
    // No recipients is allowed here: it stops files without a manifest from being sent.
    const problem = chips.length ? recipientsProblem(chips) : null;
    setRecipientsError(problem);
    if (problem) {
      document.getElementById('drop-recipients')?.focus();
      announce.error(`Not saved: ${problem}`);
      return;
    }
    setBusy(true);
    try {
      const next = await saveDropFolder(api, {
        default_recipients: chips.map((c) => c.address),
        subject: subject.trim() ? subject.trim() : null,
        message: message.trim() ? message : null,
      });
      // Show what the server kept (cleaned and without duplicates), not what was typed.
      setChips(chipsOf(next.default_recipients));
      setSubject(next.subject ?? '');
      setMessage(next.message ?? '');
      setSaved(true);
      onSaved(next);
      announce.status('Drop folder settings saved.');
    } catch (err) {
      setError(describeSaveError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="drop-defaults">
      <h2 id="drop-defaults">Defaults</h2>
      <p class="hint">
        Used for files without a manifest, and for anything a manifest leaves out. Leave the recipients empty to send
        only files that come with a manifest.
      </p>
      <ErrorMessage message={error} />
      <RecipientsInput
        id="drop-recipients"
        chips={chips}
        onChange={edited(setChips)}
        error={recipientsError}
        disabled={busy}
      />
      <div class="field">
        <label for="drop-subject">
          Subject <span class="optional">(optional)</span>
        </label>
        <input
          id="drop-subject"
          type="text"
          value={subject}
          maxLength={MAX_SUBJECT}
          disabled={busy}
          aria-describedby="drop-subject-hint"
          onInput={(e) => edited(setSubject)(e.currentTarget.value)}
        />
        <p id="drop-subject-hint" class="hint">
          Without one, the subject is the file’s name.
        </p>
      </div>
      <div class="field">
        <label for="drop-message">
          Message <span class="optional">(optional)</span>
        </label>
        <textarea
          id="drop-message"
          rows={4}
          value={message}
          maxLength={MAX_MESSAGE}
          disabled={busy}
          aria-describedby="drop-message-count"
          onInput={(e) => edited(setMessage)(e.currentTarget.value)}
        />
        <p id="drop-message-count" class="hint">
          {message.length} of {MAX_MESSAGE} characters
        </p>
      </div>
      {saved && (
        <Notice tone="success">
          <p>Saved. Files that arrive from now on use these defaults.</p>
        </Notice>
      )}
      <div class="actions">
        <button type="submit" class="button-primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}
