// Recipients as chips: type an address and press Enter, comma or Tab (or paste several); an
// address that cannot be used shows in red with the reason; Backspace in the empty field
// removes the last one.

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { type Chip, MAX_RECIPIENTS, addAddresses, splitAddresses } from '../lib/recipients';
import { useAnnounce } from './Announcer';

interface Props {
  id: string;
  chips: Chip[];
  onChange: (chips: Chip[]) => void;
  error: string | null;
  disabled?: boolean;
}

export function RecipientsInput({ id, chips, onChange, error, disabled }: Props) {
  const [text, setText] = useState('');
  const announce = useAnnounce();

  const commit = (raw: string) => {
    const addresses = splitAddresses(raw);
    if (addresses.length === 0) return;
    const next = addAddresses(chips, addresses);
    onChange(next);
    setText('');
    const added = next.slice(chips.length);
    const bad = added.filter((c) => c.error);
    if (bad.length) announce.error(`${bad.map((c) => `${c.address}: ${c.error}`).join('. ')}.`);
    else if (added.length) announce.status(`Added ${added.map((c) => c.address).join(', ')}.`);
  };

  const remove = (index: number) => {
    const removed = chips[index];
    onChange(chips.filter((_, i) => i !== index));
    announce.status(`Removed ${removed.address}.`);
  };

  const onKeyDown = (e: JSX.TargetedKeyboardEvent<HTMLInputElement>) => {
    const value = e.currentTarget.value;
    if (e.key === 'Enter' || e.key === ',' || e.key === ';') {
      e.preventDefault();
      commit(value);
    } else if (e.key === 'Tab' && value.trim()) {
      // Add the address and let focus move on as usual.
      commit(value);
    } else if (e.key === 'Backspace' && value === '' && chips.length > 0) {
      e.preventDefault();
      remove(chips.length - 1);
    }
  };

  const onPaste = (e: JSX.TargetedClipboardEvent<HTMLInputElement>) => {
    const pasted = e.clipboardData?.getData('text') ?? '';
    if (/[,;\s]/.test(pasted.trim())) {
      e.preventDefault();
      commit(`${text} ${pasted}`);
    }
  };

  const describedBy = [`${id}-hint`, error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>Recipients</label>
      <p id={`${id}-hint`} class="hint">
        Type an email address and press Enter. You can paste several at once (up to {MAX_RECIPIENTS}).
      </p>
      <div class={`chips-box${error ? ' has-error' : ''}`}>
        {chips.length > 0 && (
          <ul class="chips" aria-label="Recipients added">
            {chips.map((chip, i) => (
              <li key={chip.address} class={`chip${chip.error ? ' chip-invalid' : ''}`}>
                <span class="chip-address">{chip.address}</span>
                {chip.error && <span class="chip-error">{chip.error}</span>}
                <button
                  type="button"
                  class="chip-remove"
                  onClick={() => remove(i)}
                  aria-label={`Remove ${chip.address}`}
                  disabled={disabled}
                >
                  <span aria-hidden="true">×</span>
                </button>
              </li>
            ))}
          </ul>
        )}
        <input
          id={id}
          type="text"
          inputMode="email"
          autoComplete="email"
          spellcheck={false}
          value={text}
          disabled={disabled}
          placeholder={chips.length ? 'Add another address' : 'name@example.org'}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          onBlur={(e) => commit(e.currentTarget.value)}
        />
      </div>
      {error && (
        <p id={`${id}-error`} class="field-error">
          {error}
        </p>
      )}
    </div>
  );
}
