// Files to send: a drop zone around a real, labelled <input type=file multiple> (so the keyboard,
// screen readers and automation all get the native control), and the list of files picked.

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { formatBytes } from '../upload';
import { useAnnounce } from './Announcer';

interface Props {
  id: string;
  files: File[];
  onChange: (files: File[]) => void;
  error: string | null;
  disabled?: boolean;
}

const sameFile = (a: File, b: File) => a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;

export function FilePicker({ id, files, onChange, error, disabled }: Props) {
  const [over, setOver] = useState(false);
  const announce = useAnnounce();

  const add = (picked: FileList | null) => {
    if (!picked || picked.length === 0) return;
    const fresh = Array.from(picked).filter((f) => !files.some((g) => sameFile(f, g)));
    onChange([...files, ...fresh]);
    if (fresh.length) {
      announce.status(fresh.length === 1 ? `Added ${fresh[0].name}.` : `Added ${fresh.length} files.`);
    }
  };

  const remove = (index: number) => {
    const removed = files[index];
    onChange(files.filter((_, i) => i !== index));
    announce.status(`Removed ${removed.name}.`);
  };

  const onDrop = (e: JSX.TargetedDragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setOver(false);
    if (!disabled) add(e.dataTransfer?.files ?? null);
  };

  const total = files.reduce((sum, f) => sum + f.size, 0);
  return (
    <div class="field">
      <div
        class={`dropzone${over ? ' dropzone-over' : ''}${error ? ' has-error' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <input
          id={id}
          class="file-input"
          type="file"
          multiple
          disabled={disabled}
          aria-describedby={error ? `${id}-error` : undefined}
          aria-invalid={error ? true : undefined}
          onChange={(e) => {
            add(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
        <label for={id} class="dropzone-label">
          <span class="dropzone-icon" aria-hidden="true" />
          <span class="dropzone-main">Choose files</span>
          <span class="dropzone-sub">or drag and drop them here</span>
        </label>
      </div>
      {error && (
        <p id={`${id}-error`} class="field-error">
          {error}
        </p>
      )}
      {files.length > 0 && (
        <>
          <ul class="file-list" aria-label="Files to send">
            {files.map((f, i) => (
              <li key={`${f.name}-${f.size}-${f.lastModified}`} class="file-row">
                <span class="file-name">{f.name}</span>
                <span class="file-size">{formatBytes(f.size)}</span>
                <button
                  type="button"
                  class="button-small button-secondary"
                  onClick={() => remove(i)}
                  disabled={disabled}
                  aria-label={`Remove ${f.name}`}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <p class="file-total">
            {files.length === 1 ? '1 file' : `${files.length} files`}, {formatBytes(total)} in all
          </p>
        </>
      )}
    </div>
  );
}
