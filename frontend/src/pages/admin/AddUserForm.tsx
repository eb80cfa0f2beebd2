// Add a user: email, name, roles and (for ferry-local) an initial password.

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { createUser } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { Role, User } from '../../api/types';
import { ErrorMessage } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { checkAddress } from '../../lib/recipients';
import { RoleBoxes } from './RoleBoxes';

export function AddUserForm({ api, onAdded }: { api: ApiClient; onAdded: (u: User) => void }) {
  const announce = useAnnounce();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [roles, setRoles] = useState<Role[]>(['member']);
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; name?: string }>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    const address = email.trim().toLowerCase();
    const bad = address ? checkAddress(address) : 'enter the user’s email address';
    const errs = {
      email: bad ? `${bad.charAt(0).toUpperCase()}${bad.slice(1)}.` : undefined,
      name: !name.trim() ? 'Enter the user’s name.' : name.trim().length > 120 ? 'At most 120 characters.' : undefined,
    };
    setErrors(errs);
    setError(null);
    if (errs.email || errs.name) {
      document.getElementById(errs.email ? 'add-email' : 'add-name')?.focus();
      announce.error(errs.email ?? errs.name ?? '');
      return;
    }
    setBusy(true);
    try {
      const user = await createUser(api, { email: address, name: name.trim(), roles, password: password || undefined });
      onAdded(user);
      setEmail('');
      setName('');
      setPassword('');
      setRoles(['member']);
    } catch (err) {
      setError(describeError(err, 'admin-users'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="card disclosure">
      <summary>Add a user</summary>
      <form onSubmit={submit} noValidate class="add-user">
        <ErrorMessage message={error} />
        <div class="form-grid">
          <div class="field">
            <label for="add-email">Email</label>
            <input
              id="add-email"
              type="email"
              autoComplete="off"
              value={email}
              aria-invalid={errors.email ? true : undefined}
              aria-describedby={errors.email ? 'add-email-error' : undefined}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
            {errors.email && (
              <p id="add-email-error" class="field-error">
                {errors.email}
              </p>
            )}
          </div>
          <div class="field">
            <label for="add-name">Name</label>
            <input
              id="add-name"
              type="text"
              autoComplete="off"
              maxLength={120}
              value={name}
              aria-invalid={errors.name ? true : undefined}
              aria-describedby={errors.name ? 'add-name-error' : undefined}
              onInput={(e) => setName(e.currentTarget.value)}
            />
            {errors.name && (
              <p id="add-name-error" class="field-error">
                {errors.name}
              </p>
            )}
          </div>
        </div>
        <RoleBoxes idPrefix="add-role" roles={roles} onChange={setRoles} />
        <div class="field">
          <label for="add-password">
            Initial password <span class="optional">(ferry-local)</span>
          </label>
          <p id="add-password-hint" class="hint">
            When Ferry runs on its own (ferry-local) a new user needs a first password: at least 12 characters; give it
            to them safely. With Cognito or another identity provider leave it empty: the user is invited by email.
          </p>
          <input
            id="add-password"
            type="password"
            autoComplete="new-password"
            value={password}
            aria-describedby="add-password-hint"
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        <div class="actions">
          <button type="submit" class="button-primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add user'}
          </button>
        </div>
      </form>
    </details>
  );
}
