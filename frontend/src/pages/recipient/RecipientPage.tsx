// Where the emailed link lands (/r/{token}): no account needed. The recipient asks for a code by
// email, enters it, and then sees, downloads or forwards the documents and confirms receipt.

import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiClient } from '../../api/client';
import { requestCode, verifyCode } from '../../api/ferry';
import { describeError } from '../../api/problems';
import { useSession } from '../../auth/session';
import { ErrorMessage, Notice } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { PageTitle } from '../../components/PageTitle';
import { type Grant, dropGrant, isLinkToken, loadGrant, recipientClient, saveGrant } from './access';
import { ReceivedTransfer } from './ReceivedTransfer';

function CodeStep({ linkToken, onGranted, notice }: { linkToken: string; onGranted: (g: Grant) => void; notice: string | null }) {
  const { config } = useSession();
  const announce = useAnnounce();
  const anonymous = useMemo(() => new ApiClient(config.api_url, null), [config.api_url]);
  const [sent, setSent] = useState(false);
  const [showCode, setShowCode] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState<'send' | 'verify' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [codeError, setCodeError] = useState<string | null>(null);
  const codeInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (showCode) codeInput.current?.focus();
  }, [showCode, sent]);

  const send = async () => {
    setBusy('send');
    setError(null);
    setCodeError(null);
    try {
      const r = await requestCode(anonymous, linkToken);
      setSent(true);
      setShowCode(true);
      setCode('');
      announce.status(`A code is on its way to your email. It works for ${Math.round((r.expires_in ?? 600) / 60)} minutes.`);
    } catch (e) {
      setError(describeError(e, 'access-request'));
    } finally {
      setBusy(null);
    }
  };

  const verify = async (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    const digits = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(digits)) {
      setCodeError('The code is the 6 digits from the email.');
      announce.error('The code is the 6 digits from the email.');
      codeInput.current?.focus();
      return;
    }
    setBusy('verify');
    setCodeError(null);
    setError(null);
    try {
      const g = await verifyCode(anonymous, linkToken, digits);
      const grant: Grant = {
        accessToken: g.access_token,
        transferId: g.transfer_id,
        expiresAt: Date.now() + g.expires_in * 1000,
      };
      saveGrant(linkToken, grant);
      announce.status('Code accepted. Here are your documents.');
      onGranted(grant);
    } catch (err) {
      const message = describeError(err, 'access-verify');
      setCodeError(message);
      announce.error(message);
      codeInput.current?.select();
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="narrow card access">
      <PageTitle title="Documents for you" />
      {notice && <Notice tone="warning"><p>{notice}</p></Notice>}
      <p class="lead">
        Someone sent you documents through Ferry. To open them, get a one-time code by email: it proves this link is yours.
      </p>
      <ErrorMessage message={error} />

      {!sent ? (
        <div class="actions">
          <button type="button" class="button-primary button-large" onClick={() => void send()} disabled={busy !== null}>
            {busy === 'send' ? 'Sending…' : 'Email me a code'}
          </button>
          {!showCode && (
            <button type="button" class="button-link" onClick={() => setShowCode(true)}>
              I already have a code
            </button>
          )}
        </div>
      ) : (
        <Notice tone="success">
          <p>We emailed you a 6-digit code. It works for 10 minutes. Check your spam folder if it does not arrive.</p>
        </Notice>
      )}

      {showCode && (
        <form class="code-form" onSubmit={verify} noValidate>
          <div class="field">
            <label for="access-code">Code from the email</label>
            <input
              ref={codeInput}
              id="access-code"
              class="code-input"
              type="text"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]*"
              maxLength={7}
              value={code}
              aria-describedby={codeError ? 'access-code-hint access-code-error' : 'access-code-hint'}
              aria-invalid={codeError ? true : undefined}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
            <p id="access-code-hint" class="hint">
              6 digits
            </p>
            {codeError && (
              <p id="access-code-error" class="field-error">
                {codeError}
              </p>
            )}
          </div>
          <div class="actions">
            <button type="submit" class="button-primary" disabled={busy !== null}>
              {busy === 'verify' ? 'Checking…' : 'Open the documents'}
            </button>
            {sent && (
              <button type="button" class="button-secondary" onClick={() => void send()} disabled={busy !== null}>
                {busy === 'send' ? 'Sending…' : 'Send a new code'}
              </button>
            )}
          </div>
        </form>
      )}
    </section>
  );
}

export function RecipientPage({ token }: { token: string }) {
  const { config } = useSession();
  const linkToken = (token ?? '').trim();
  const [grant, setGrant] = useState<Grant | null>(() => loadGrant(linkToken));
  const [notice, setNotice] = useState<string | null>(null);

  const expire = () => {
    dropGrant(linkToken);
    setGrant(null);
    setNotice('Your access has expired. Ask for a new code to open the documents again.');
  };

  // The grant lapses on its own: go back to the code step then, not on the next failed click.
  useEffect(() => {
    if (!grant) return;
    const timer = setTimeout(expire, Math.max(0, grant.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [grant]);

  const api = useMemo(() => (grant ? recipientClient(config.api_url, grant, expire) : null), [grant, config.api_url]);

  if (!isLinkToken(linkToken)) {
    return (
      <section class="narrow">
        <PageTitle title="This link is incomplete" />
        <p>
          The address is missing a part. Open the link again from the email; if your email program split it over two lines,
          copy the whole address into the browser.
        </p>
      </section>
    );
  }
  if (!grant || !api) {
    return <CodeStep linkToken={linkToken} notice={notice} onGranted={(g) => { setNotice(null); setGrant(g); }} />;
  }
  return <ReceivedTransfer api={api} transferId={grant.transferId} myEmail={null} />;
}
