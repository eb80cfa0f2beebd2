// Shows its children to a signed-in user (with a role, when one is asked for); otherwise what to
// do: sign in, wait, or try again.

import type { ComponentChildren } from 'preact';
import { hasRole, useSession } from '../auth/session';
import { ErrorMessage } from './Alert';
import { PageTitle } from './PageTitle';

export function Loading({ what = 'Loading…' }: { what?: string }) {
  return (
    <p class="loading" aria-busy="true">
      {what}
    </p>
  );
}

export function SignInPrompt({ notice }: { notice: string | null }) {
  const { signIn } = useSession();
  return (
    <section class="narrow card sign-in">
      <PageTitle title="Sign in to Ferry" />
      {notice && <p class="notice notice-warning">{notice}</p>}
      <p>Send documents safely, follow their delivery, and see what was sent to you.</p>
      <button type="button" class="button-primary button-large" onClick={() => void signIn()}>
        Sign in
      </button>
      <p class="muted">Received a link by email? Open it directly: you do not need an account.</p>
    </section>
  );
}

export function RequireUser({ role, children }: { role?: 'admin' | 'member'; children: ComponentChildren }) {
  const { state, retry } = useSession();
  switch (state.kind) {
    case 'loading':
      return <Loading />;
    case 'signed-out':
      return <SignInPrompt notice={state.notice} />;
    case 'unavailable':
      return (
        <section class="narrow">
          <PageTitle title="Ferry is not reachable" />
          <ErrorMessage message={state.message}>
            <button type="button" class="button-secondary" onClick={retry}>
              Try again
            </button>
          </ErrorMessage>
        </section>
      );
    case 'signed-in':
      if (role && !hasRole(state.me, role)) {
        return (
          <section class="narrow">
            <PageTitle title="Not available" />
            <p>
              {role === 'admin'
                ? 'This page is for administrators.'
                : 'Your account may not send documents. Ask an administrator to give you the member role.'}
            </p>
            <p>
              <a href="/inbox">See the documents sent to you</a>
            </p>
          </section>
        );
      }
      return <>{children}</>;
  }
}
