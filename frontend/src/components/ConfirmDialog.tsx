// A modal <dialog> that asks before anything that cannot be undone. `useConfirm` returns the
// dialog to render and a function that opens it and resolves with the answer.

import type { ComponentChildren, VNode } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface ConfirmOptions {
  title: string;
  body: ComponentChildren;
  confirmLabel: string;
  cancelLabel?: string;
  /** Styles the confirm button as destructive. */
  danger?: boolean;
}

interface Pending extends ConfirmOptions {
  resolve: (ok: boolean) => void;
}

function ConfirmDialog({ pending, onDone }: { pending: Pending; onDone: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    const closed = () => {
      pending.resolve(dialog.returnValue === 'confirm');
      onDone();
      opener?.focus();
    };
    dialog.addEventListener('close', closed);
    return () => dialog.removeEventListener('close', closed);
  }, [pending, onDone]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" aria-describedby="confirm-body">
      <form method="dialog">
        <h2 id="confirm-title">{pending.title}</h2>
        <div id="confirm-body" class="dialog-body">
          {pending.body}
        </div>
        <div class="actions">
          {/* The safe choice has focus first: Enter on an opened dialog must not destroy anything. */}
          <button type="submit" value="cancel" class="button-secondary" autofocus>
            {pending.cancelLabel ?? 'Cancel'}
          </button>
          <button type="submit" value="confirm" class={pending.danger ? 'button-danger' : 'button-primary'}>
            {pending.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

export function useConfirm(): [VNode | null, (options: ConfirmOptions) => Promise<boolean>] {
  const [pending, setPending] = useState<Pending | null>(null);
  const confirm = useCallback(
    (options: ConfirmOptions) => new Promise<boolean>((resolve) => setPending({ ...options, resolve })),
    [],
  );
  const done = useCallback(() => setPending(null), []);
  return [pending ? <ConfirmDialog pending={pending} onDone={done} /> : null, confirm];
}
