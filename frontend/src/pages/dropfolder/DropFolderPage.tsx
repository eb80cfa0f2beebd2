// The member's drop folder: where scripts put files so that Ferry sends them without the portal,
// the rules it follows, and the defaults for files that arrive without a manifest.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { getDropFolder } from '../../api/ferry';
import { ApiError, describeError, isAbort } from '../../api/problems';
import type { DropFolder } from '../../api/types';
import { useSession } from '../../auth/session';
import { ErrorMessage, Notice } from '../../components/Alert';
import { CopyBlock } from '../../components/CopyBlock';
import { CopyValue } from '../../components/CopyValue';
import { PageTitle } from '../../components/PageTitle';
import { Loading, RequireUser } from '../../components/RequireUser';
import { DropFolderForm } from './DropFolderForm';

export const EXAMPLE_MANIFEST = `{
  "recipients": ["auditor@example.com"],
  "subject": "Nightly export",
  "message": "Tonight's files.",
  "expires_in_hours": 72,
  "files": ["report.pdf", {"name": "ledger.csv", "md5": "<MD5 in hex or base64, optional>"}]
}`;

function describeLoadError(err: unknown): string {
  if (err instanceof ApiError && err.status === 403) {
    return 'Only members have a drop folder. Ask an administrator to give you the member role.';
  }
  if (err instanceof ApiError && err.status === 404) return 'This Ferry has no drop folders.';
  return describeError(err);
}

function Where({ location }: { location: string }) {
  const s3 = location.startsWith('s3://');
  return (
    <section class="section" aria-labelledby="drop-where">
      <h2 id="drop-where">Where to put files</h2>
      <dl class="hashes">
        <CopyValue label="Drop folder location" value={location} />
      </dl>
      {s3 ? (
        <p>
          Put files there with <code>aws s3 cp</code>, an SFTP server set up for it, or any S3 client. For example:{' '}
          <code class="break">aws s3 cp report.pdf {location}</code>
        </p>
      ) : (
        <p>Copy or move files into this folder on the computer that runs Ferry.</p>
      )}
    </section>
  );
}

function Rules() {
  return (
    <section class="section" aria-labelledby="drop-rules">
      <h2 id="drop-rules">How files are sent</h2>
      <ul>
        <li>
          <strong>A single file:</strong> a file put directly in the drop folder is sent on its own, at once, to the
          default recipients below. Without default recipients, it waits until a manifest covers it.
        </li>
        <li>
          <strong>Several files together, or other recipients:</strong> put the files in a sub-folder, then add a
          manifest file named <code>something.ferry.json</code> last: Ferry sends when the manifest arrives. The
          manifest covers the files it lists, or every file in its folder when it lists none.
        </li>
        <li>
          <strong>Files that cannot be sent</strong> are moved to <code>.failed/</code> in the drop folder, with a{' '}
          <code>.reason.txt</code> file beside them that says why, and you get an email.
        </li>
      </ul>
      <h3>Example manifest</h3>
      <CopyBlock label="Example manifest" value={EXAMPLE_MANIFEST} />
      <p class="hint">
        Every field is optional: recipients, subject and message fall back to the defaults below. With an{' '}
        <code>md5</code>, Ferry checks that the file arrived unchanged.
      </p>
    </section>
  );
}

function DropFolderSettings() {
  const { api } = useSession();
  const [folder, setFolder] = useState<DropFolder | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    getDropFolder(api, abort.signal)
      .then(setFolder)
      .catch((e) => {
        if (!isAbort(e)) setError(describeLoadError(e));
      });
    return () => abort.abort();
  }, [api, attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  return (
    <>
      <PageTitle title="Drop folder" />
      <p class="lead">Files that your scripts put in your drop folder are sent as transfers, without opening Ferry.</p>
      {error && (
        <ErrorMessage message={error}>
          <button type="button" class="button-secondary" onClick={retry}>
            Try again
          </button>
        </ErrorMessage>
      )}
      {!folder && !error && <Loading />}
      {folder && (
        <>
          <Where location={folder.location} />
          <Rules />
          {folder.default_recipients.length === 0 && (
            <Notice tone="warning">
              <p>
                You have no default recipients yet, so a file put directly in the drop folder waits for a manifest.
              </p>
            </Notice>
          )}
          <DropFolderForm api={api} folder={folder} onSaved={setFolder} />
        </>
      )}
    </>
  );
}

export function DropFolderPage() {
  return (
    <RequireUser role="member">
      <DropFolderSettings />
    </RequireUser>
  );
}
