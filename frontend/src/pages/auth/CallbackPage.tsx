// The end of the sign-in: trade the code for tokens, then go back where the user came from.

import { useLocation } from 'preact-iso';
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../../api/problems';
import { SignInError } from '../../auth/oidc';
import { useSession } from '../../auth/session';
import { ErrorMessage } from '../../components/Alert';
import { PageTitle } from '../../components/PageTitle';
import { Loading } from '../../components/RequireUser';

// A code works once: a second render of this page must not try it again.
let started = false;

export function CallbackPage() {
  const { finishSignIn, signIn } = useSession();
  const { route } = useLocation();
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (started) return;
    started = true;
    finishSignIn(new URL(window.location.href))
      .then((returnTo) => route(returnTo, true))
      .catch((e) => setError(e instanceof SignInError ? e.message : describeError(e)))
      .finally(() => (started = false));
  }, [finishSignIn, route]);

  if (!error) return <Loading what="Signing you in…" />;
  return (
    <section class="narrow">
      <PageTitle title="Sign-in did not complete" />
      <ErrorMessage message={error} />
      <button type="button" class="button-primary" onClick={() => void signIn('/')}>
        Sign in again
      </button>
    </section>
  );
}
