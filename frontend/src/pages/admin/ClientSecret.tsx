// A new machine client's credentials, shown the one time the server gives out the secret.

import { useEffect, useRef } from 'preact/hooks';
import type { IssuedMachineClient } from '../../api/types';
import { Notice } from '../../components/Alert';
import { CopyValue } from '../../components/CopyValue';

export function ClientSecret({ client, onDone }: { client: IssuedMachineClient; onDone: () => void }) {
  const ref = useRef<HTMLHeadingElement>(null);
  // The secret is lost once this panel goes: take the reader to it, wherever the form was.
  useEffect(() => ref.current?.focus(), [client]);
  const env = [
    `FERRY_URL=${window.location.origin}`,
    `FERRY_CLIENT_ID=${client.client_id}`,
    `FERRY_CLIENT_SECRET=${client.client_secret}`,
  ];
  return (
    <section class="section" aria-labelledby="client-secret-title">
      <Notice tone="warning">
        <h2 id="client-secret-title" class="h3" ref={ref} tabIndex={-1}>
          Copy the secret of “{client.name}” now
        </h2>
        <p class="big">This secret is shown only this once: Ferry will not show it again.</p>
        <p>If it is lost, delete this client and create a new one.</p>
        <dl class="hashes">
          <CopyValue label="Client id" value={client.client_id} />
          <CopyValue label="Client secret" value={client.client_secret} />
        </dl>
        <p>
          To use it with the <code>ferry</code> command line, put these in the environment of the script, readable only
          by the account that runs it:
        </p>
        <pre class="hash client-env" aria-label="Environment for the ferry command line">{env.join('\n')}</pre>
        <p>
          Then, for example: <code>ferry send --to someone@example.com FILE</code>
        </p>
        <div class="actions">
          <button type="button" class="button-primary" onClick={onDone}>
            I have saved the secret
          </button>
        </div>
      </Notice>
    </section>
  );
}
