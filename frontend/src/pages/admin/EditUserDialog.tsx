// Change a user's name and roles.

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { changeUser } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { Role, User } from '../../api/types';
import { ErrorMessage } from '../../components/Alert';
import { Modal } from '../../components/Modal';
import { RoleBoxes } from './RoleBoxes';

export function EditUserDialog({
  api,
  user,
  isSelf,
  onClose,
  onSaved,
}: {
  api: ApiClient;
  user: User;
  isSelf: boolean;
  onClose: () => void;
  onSaved: (u: User) => void;
}) {
  const [name, setName] = useState(user.name);
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!name.trim()) {
      setError('Enter the user’s name.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSaved(await changeUser(api, user.id, { name: name.trim(), roles }));
    } catch (err) {
      setError(describeError(err, 'admin-users'));
      setBusy(false);
    }
  };

  return (
    <Modal title={`Edit ${user.email}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorMessage message={error} />
        <div class="field">
          <label for="edit-name">Name</label>
          <input id="edit-name" type="text" maxLength={120} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <RoleBoxes idPrefix="edit-role" roles={roles} onChange={setRoles} lockAdmin={isSelf} />
        <div class="actions">
          <button type="button" class="button-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
