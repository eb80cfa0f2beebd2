import type { Role } from '../../api/types';

const ROLES: { role: Role; label: string; hint: string }[] = [
  { role: 'member', label: 'Member', hint: 'may send documents' },
  { role: 'admin', label: 'Administrator', hint: 'manages users and reads the audit trail' },
];

/** The roles as checkboxes in a fieldset. */
export function RoleBoxes({
  idPrefix,
  roles,
  onChange,
  lockAdmin,
}: {
  idPrefix: string;
  roles: Role[];
  onChange: (roles: Role[]) => void;
  lockAdmin?: boolean;
}) {
  return (
    <fieldset class="choice">
      <legend>Roles</legend>
      {ROLES.map(({ role, label, hint }) => (
        <label class="checkbox" key={role} for={`${idPrefix}-${role}`}>
          <input
            id={`${idPrefix}-${role}`}
            type="checkbox"
            checked={roles.includes(role)}
            disabled={lockAdmin && role === 'admin'}
            onChange={(e) =>
              onChange(e.currentTarget.checked ? [...roles.filter((r) => r !== role), role] : roles.filter((r) => r !== role))
            }
          />
          <span>
            {label} <span class="hint-inline">— {hint}</span>
          </span>
        </label>
      ))}
      {lockAdmin && <p class="hint">You cannot take away your own administrator role.</p>}
    </fieldset>
  );
}
