// Create a machine client: what it is for, and the user it acts for.

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { createClient } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { IssuedMachineClient, User } from '../../api/types';
import { ErrorMessage } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { checkAddress } from '../../lib/recipients';

// The server's rule for names (openapi.yaml CreateClientRequest), checked here to answer at once.
const NAME = /^[A-Za-z0-9 ._@+=,-]+$/;
const NAME_MAX = 64;

function checkName(raw: string): string | undefined {
  const name = raw.trim();
  if (!name) return 'Enter what the client is for, such as “nightly export”.';
  if (name.length > NAME_MAX) return `At most ${NAME_MAX} characters.`;
  if (!NAME.test(name)) return 'Use only letters, digits, spaces and . _ @ + = , -';
  return undefined;
}

export function AddClientForm({
  api,
  users,
  onAdded,
}: {
  api: ApiClient;
  /** Everyone the client could act for; null when the user list could not be read. */
  users: User[] | null;
  onAdded: (c: IssuedMachineClient) => void;
}) {
  const announce = useAnnounce();
  const [name, setName] = useState('');
  const [owner, setOwner] = useState('');
  const [errors, setErrors] = useState<{ name?: string; owner?: string }>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Only enabled users can own a client; without the list, an address typed in does the same.
  const owners = users?.filter((u) => u.enabled).sort((a, b) => a.email.localeCompare(b.email)) ?? null;
  const choose = owners !== null && owners.length > 0;

  const submit = async (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    const address = owner.trim().toLowerCase();
    const bad = choose ? null : address ? checkAddress(address) : 'enter the email address of the user it acts for';
    const errs = {
      name: checkName(name),
      owner: choose
        ? address
          ? undefined
          : 'Choose the user the client acts for.'
        : bad
          ? `${bad.charAt(0).toUpperCase()}${bad.slice(1)}.`
          : undefined,
    };
    setErrors(errs);
    setError(null);
    if (errs.name || errs.owner) {
      document.getElementById(errs.name ? 'client-name' : 'client-owner')?.focus();
      announce.error(errs.name ?? errs.owner ?? '');
      return;
    }
    setBusy(true);
    try {
      const client = await createClient(api, { name: name.trim(), owner_email: address });
      onAdded(client);
      setName('');
      setOwner('');
    } catch (err) {
      setError(describeError(err, 'admin-clients'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="card disclosure">
      <summary>Create a machine client</summary>
      <form onSubmit={submit} noValidate class="add-client">
        <ErrorMessage message={error} />
        <div class="form-grid">
          <div class="field">
            <label for="client-name">Name</label>
            <input
              id="client-name"
              type="text"
              autoComplete="off"
              maxLength={NAME_MAX}
              value={name}
              aria-invalid={errors.name ? true : undefined}
              aria-describedby={errors.name ? 'client-name-hint client-name-error' : 'client-name-hint'}
              onInput={(e) => setName(e.currentTarget.value)}
            />
            <p id="client-name-hint" class="hint">
              What it is for: at most {NAME_MAX} letters, digits, spaces and . _ @ + = , -
            </p>
            {errors.name && (
              <p id="client-name-error" class="field-error">
                {errors.name}
              </p>
            )}
          </div>
          <div class="field">
            <label for="client-owner">Acts for</label>
            {choose ? (
              <select
                id="client-owner"
                value={owner}
                aria-invalid={errors.owner ? true : undefined}
                aria-describedby={errors.owner ? 'client-owner-hint client-owner-error' : 'client-owner-hint'}
                onChange={(e) => setOwner(e.currentTarget.value)}
              >
                <option value="">Choose a user…</option>
                {owners.map((u) => (
                  <option key={u.id} value={u.email}>
                    {u.name ? `${u.email} (${u.name})` : u.email}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id="client-owner"
                type="email"
                autoComplete="off"
                value={owner}
                aria-invalid={errors.owner ? true : undefined}
                aria-describedby={errors.owner ? 'client-owner-hint client-owner-error' : 'client-owner-hint'}
                onInput={(e) => setOwner(e.currentTarget.value)}
              />
            )}
            <p id="client-owner-hint" class="hint">
              The client sends and receives as this user, with the member role at most, never as an administrator.
            </p>
            {errors.owner && (
              <p id="client-owner-error" class="field-error">
                {errors.owner}
              </p>
            )}
          </div>
        </div>
        <div class="actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create client'}
          </button>
        </div>
      </form>
    </details>
  );
}
