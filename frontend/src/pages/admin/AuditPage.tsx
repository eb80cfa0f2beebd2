// The audit trail for administrators: filter by transfer, actor and time; page with a cursor.

import type { JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { listUsers, queryAudit } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { AuditEvent, AuditQuery } from '../../api/types';
import { useMe, useSession } from '../../auth/session';
import { ErrorMessage } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { PageTitle } from '../../components/PageTitle';
import { Loading, RequireUser } from '../../components/RequireUser';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTimeSeconds, localInputToIso } from '../../lib/time';
import { describeEvent } from '../../lib/words';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PAGE = 100;

/** An email becomes the actor it is recorded as: a known user's id, else a recipient. */
function actorFilter(raw: string, idsByEmail: Map<string, string>): string | undefined {
  const value = raw.trim();
  if (!value) return undefined;
  if (value.includes(':') || !value.includes('@')) return value;
  const email = value.toLowerCase();
  const id = idsByEmail.get(email);
  return id ? `user:${id}` : `recipient:${email}`;
}

/** `user:<id>` as the person's email where the directory knows it. */
function ActorCell({ actor, emailsById }: { actor: string; emailsById: Map<string, string> }) {
  const email = actor.startsWith('user:') ? emailsById.get(actor.slice(5)) : undefined;
  if (email) {
    return (
      <>
        {email}
        <br />
        <span class="muted small">{actor}</span>
      </>
    );
  }
  if (actor.startsWith('recipient:')) {
    return (
      <>
        {actor.slice(10)}
        <br />
        <span class="muted small">recipient by link</span>
      </>
    );
  }
  return <>{actor}</>;
}

const OUTCOME = {
  success: { label: 'Success', tone: 'success' },
  failure: { label: 'Failure', tone: 'danger' },
  denied: { label: 'Denied', tone: 'warning' },
} as const;

function Audit() {
  const { api } = useSession();
  const me = useMe();
  const announce = useAnnounce();
  const [transferId, setTransferId] = useState('');
  const [actor, setActor] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [filterError, setFilterError] = useState<string | null>(null);
  const [query, setQuery] = useState<AuditQuery>({});
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [emailsById, setEmailsById] = useState(new Map<string, string>());

  useEffect(() => {
    // Only to show names: with an outside issuer there is no user list, and raw ids remain.
    listUsers(api)
      .then((users) => setEmailsById(new Map(users.map((u) => [u.id, u.email]))))
      .catch(() => undefined);
  }, [api]);

  const fetchPage = useCallback(
    async (q: AuditQuery, append: boolean) => {
      setLoading(true);
      setError(null);
      try {
        const page = await queryAudit(api, { ...q, limit: PAGE });
        setEvents((old) => (append && old ? [...old, ...page.events] : page.events));
        setCursor(page.next_cursor);
        announce.status(
          append ? `${page.events.length} more events.` : page.events.length ? `${page.events.length} events found.` : 'No events found.',
        );
      } catch (e) {
        setError(describeError(e, 'admin-audit'));
      } finally {
        setLoading(false);
      }
    },
    [api, announce],
  );

  useEffect(() => void fetchPage({}, false), [fetchPage]);

  const search = (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    const tid = transferId.trim().toLowerCase();
    if (tid && !UUID.test(tid)) {
      setFilterError('A transfer id looks like 3f2b8c1e-5d4a-4e2b-9c1d-7a6b5c4d3e2f (from the address of its page).');
      document.getElementById('audit-transfer')?.focus();
      return;
    }
    const q: AuditQuery = {
      transfer_id: tid || undefined,
      actor: actorFilter(actor, new Map([...emailsById].map(([id, email]) => [email, id]))),
      since: localInputToIso(since),
      until: localInputToIso(until),
    };
    if (q.since && q.until && q.since > q.until) {
      setFilterError('“From” must be before “Until”.');
      return;
    }
    setFilterError(null);
    setQuery(q);
    void fetchPage(q, false);
  };

  return (
    <>
      <PageTitle title="Audit trail" />
      <form class="card filters" onSubmit={search} noValidate aria-labelledby="filters-title">
        <h2 id="filters-title" class="h3">
          Filter
        </h2>
        <div class="form-grid">
          <div class="field">
            <label for="audit-transfer">Transfer id</label>
            <input
              id="audit-transfer"
              type="text"
              spellcheck={false}
              class="mono"
              value={transferId}
              aria-invalid={filterError?.startsWith('A transfer') ? true : undefined}
              onInput={(e) => setTransferId(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="audit-actor">Actor</label>
            <input
              id="audit-actor"
              type="text"
              spellcheck={false}
              value={actor}
              aria-describedby="audit-actor-hint"
              onInput={(e) => setActor(e.currentTarget.value)}
            />
            <p id="audit-actor-hint" class="hint">
              An email address, or exactly as recorded: user:&lt;id&gt;, recipient:&lt;email&gt; or system.
            </p>
          </div>
          <div class="field">
            <label for="audit-since">From</label>
            <input id="audit-since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
          </div>
          <div class="field">
            <label for="audit-until">Until</label>
            <input id="audit-until" type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
          </div>
        </div>
        {filterError && <p class="field-error">{filterError}</p>}
        <div class="actions">
          <button type="submit" class="button-primary" disabled={loading}>
            Search
          </button>
        </div>
      </form>

      <ErrorMessage message={error} />
      <section class="section" aria-labelledby="results-title">
        <h2 id="results-title">Events</h2>
        {!events && loading && <Loading />}
        {events && events.length === 0 && <p>No events match these filters.</p>}
        {events && events.length > 0 && (
          <table class="table responsive-table audit-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">What</th>
                <th scope="col">Transfer</th>
                <th scope="col">Outcome</th>
                <th scope="col">Source IP</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => (
                <tr key={`${e.at}-${i}`}>
                  <td data-label="Time">
                    <time dateTime={e.at}>{formatDateTimeSeconds(e.at)}</time>
                  </td>
                  <td data-label="Actor" class="break">
                    <ActorCell actor={e.actor} emailsById={emailsById} />
                  </td>
                  <td data-label="What">
                    <div>
                      {describeEvent(e, { myId: me?.id ?? null })}
                      <br />
                      <code class="muted small">{e.action}</code>
                      {e.detail && <span class="muted small break"> · {e.detail}</span>}
                    </div>
                  </td>
                  <td data-label="Transfer" class="break">
                    {e.transfer_id ? (
                      <a href={`/transfers/${e.transfer_id}`} class="mono small">
                        {e.transfer_id.slice(0, 8)}…
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td data-label="Outcome">
                    <StatusBadge tone={OUTCOME[e.outcome].tone} label={OUTCOME[e.outcome].label} />
                  </td>
                  <td data-label="Source IP" class="nowrap">
                    {e.source_ip ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {cursor && (
          <div class="actions">
            <button type="button" class="button-secondary" disabled={loading} onClick={() => void fetchPage({ ...query, cursor }, true)}>
              {loading ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </section>
    </>
  );
}

export function AuditPage() {
  return (
    <RequireUser role="admin">
      <Audit />
    </RequireUser>
  );
}
