// @vitest-environment jsdom
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../api/client';
import type { Me, MachineClient, User } from '../../api/types';
import { SessionContext, type Session } from '../../auth/session';
import { Announcer } from '../../components/Announcer';
import { ClientsPage } from './ClientsPage';

const ADMIN: Me = { id: 'u-admin', email: 'admin@example.org', name: 'Ada Admin', roles: ['admin', 'member'] };
const USERS: User[] = [
  { ...ADMIN, enabled: true },
  { id: 'u-ops', email: 'ops@example.org', name: 'Ops', roles: ['member'], enabled: true },
  { id: 'u-gone', email: 'gone@example.org', name: 'Gone', roles: ['member'], enabled: false },
];
const CLIENTS: MachineClient[] = [
  { client_id: 'c-export', name: 'nightly export', owner_id: 'u-ops', created_at: '2026-11-01T08:00:00Z' },
  { client_id: 'c-orphan', name: 'old scanner', owner_id: 'u-unknown', created_at: '2026-11-02T08:00:00Z' },
];
const SECRET = 's3cret-only-once-0123456789';

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });
const problem = (status: number, detail: string) =>
  json(status, { type: 'urn:ferry:problem:invalid-request', title: 'Bad Request', status, detail }, 'application/problem+json');

interface Call {
  method: string;
  path: string;
  body: unknown;
}

/** The admin routes the page uses, answered from memory; `created` is what POST answers. */
function fakeApi(options: { created?: () => Response; users?: () => Response } = {}) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    const path = new URL(url).pathname;
    const method = init.method ?? 'GET';
    calls.push({ method, path, body: init.body ? JSON.parse(String(init.body)) : undefined });
    if (method === 'GET' && path === '/api/v1/admin/clients') return json(200, { clients: CLIENTS });
    if (method === 'GET' && path === '/api/v1/admin/users') return options.users?.() ?? json(200, { users: USERS });
    if (method === 'POST' && path === '/api/v1/admin/clients') return options.created!();
    if (method === 'DELETE' && path.startsWith('/api/v1/admin/clients/')) return new Response(null, { status: 204 });
    return problem(404, 'no such route');
  });
  vi.stubGlobal('fetch', fetch);
  return { api: new ApiClient('https://api.example.org', null), calls };
}

function session(api: ApiClient, me: Me = ADMIN): Session {
  return {
    config: { api_url: 'https://api.example.org', oidc: {} as Session['config']['oidc'], dev_mail_url: null },
    state: { kind: 'signed-in', me },
    api,
    signIn: async () => undefined,
    signOut: async () => undefined,
    finishSignIn: async () => '/',
    retry: () => undefined,
  };
}

let root: HTMLElement;

async function renderPage(api: ApiClient, me?: Me) {
  await act(() => {
    render(
      <SessionContext.Provider value={session(api, me)}>
        <Announcer>
          <ClientsPage />
        </Announcer>
      </SessionContext.Provider>,
      root,
    );
  });
  await settle();
}

/** Lets the fake answers arrive and the page render them. */
async function settle() {
  for (let i = 0; i < 5; i++) {
    await act(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
  }
}

const text = () => root.textContent ?? '';
const byLabel = (label: string) => root.querySelector<HTMLElement>(`[aria-label="${label}"]`)!;
const button = (label: string) =>
  [...root.querySelectorAll('button')].find((b) => b.textContent?.trim() === label) as HTMLButtonElement;

async function type(id: string, value: string) {
  const el = root.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`)!;
  await act(() => {
    el.value = value;
    el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));
  });
}

async function click(el: HTMLElement) {
  await act(() => el.click());
  await settle();
}

beforeAll(() => {
  // jsdom has no modal dialogs: open and close them as a browser does, including <form method="dialog">.
  const proto = HTMLDialogElement.prototype as HTMLDialogElement & { returnValue: string };
  proto.showModal = function (this: HTMLDialogElement) {
    this.setAttribute('open', '');
  };
  proto.close = function (this: HTMLDialogElement & { returnValue: string }, value?: string) {
    if (value !== undefined) this.returnValue = value;
    this.removeAttribute('open');
    this.dispatchEvent(new Event('close'));
  };
  document.addEventListener(
    'submit',
    (e) => {
      const form = e.target as HTMLFormElement;
      if (form.getAttribute('method') !== 'dialog') return;
      e.preventDefault();
      const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
      form.closest('dialog')!.close(submitter?.value ?? '');
    },
    true,
  );
});

beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('ClientsPage', () => {
  it('lists the clients with their owners’ emails, or the owner id when the user is unknown', async () => {
    const { api } = fakeApi();
    await renderPage(api);
    expect(root.querySelector('h1')?.textContent).toBe('Machine clients');
    const rows = [...root.querySelectorAll('tbody tr')].map((r) => r.textContent);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('nightly export');
    expect(rows[0]).toContain('ops@example.org');
    expect(rows[0]).toContain('c-export');
    expect(rows[1]).toContain('u-unknown');
    // Only enabled users can own a client.
    const options = [...root.querySelectorAll('#client-owner option')].map((o) => o.getAttribute('value'));
    expect(options).toEqual(['', 'admin@example.org', 'ops@example.org']);
  });

  it('asks for the owner’s email when the user list cannot be read', async () => {
    const { api } = fakeApi({ users: () => problem(409, 'users are managed by an outside identity provider') });
    await renderPage(api);
    expect(root.querySelector('#client-owner')?.tagName).toBe('INPUT');
    expect(text()).toContain('u-ops');
  });

  it('shows the new secret once, with how to use it, and never logs it', async () => {
    const logged = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
    const { api, calls } = fakeApi({
      created: () =>
        json(201, { client_id: 'c-new', name: 'scanner', owner_id: 'u-ops', created_at: '2026-12-05T08:00:00Z', client_secret: SECRET }),
    });
    await renderPage(api);
    await type('client-name', '  scanner ');
    await type('client-owner', 'ops@example.org');
    await act(() => root.querySelector('form')!.requestSubmit());
    await settle();

    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ name: 'scanner', owner_email: 'ops@example.org' });
    expect(text()).toContain('shown only this once');
    expect(byLabel('Copy Client secret')).toBeTruthy();
    expect(root.querySelectorAll('.copy-value code')[1]?.textContent).toBe(SECRET);
    expect(byLabel('Environment for the ferry command line').textContent).toBe(
      `FERRY_URL=${window.location.origin}\nFERRY_CLIENT_ID=c-new\nFERRY_CLIENT_SECRET=${SECRET}`,
    );
    expect(text()).toContain('ferry send --to someone@example.com FILE');
    expect(document.activeElement?.id).toBe('client-secret-title');
    // The list gains the client, without its secret.
    const row = [...root.querySelectorAll('tbody tr')].at(-1)!;
    expect(row.textContent).toContain('scanner');
    expect(row.textContent).toContain('ops@example.org');
    expect(row.textContent).not.toContain(SECRET);

    await click(button('I have saved the secret'));
    expect(text()).not.toContain(SECRET);
    expect(root.querySelectorAll('tbody tr')).toHaveLength(3);
    for (const spy of logged) {
      expect(JSON.stringify(spy.mock.calls)).not.toContain(SECRET);
    }
  });

  it('shows the reason when the server refuses the client', async () => {
    const { api } = fakeApi({ created: () => problem(400, 'owner_email: no enabled user has this email') });
    await renderPage(api);
    await type('client-name', 'scanner');
    await type('client-owner', 'ops@example.org');
    await act(() => root.querySelector('form')!.requestSubmit());
    await settle();
    expect(root.querySelector('.notice-error')?.textContent).toContain('no enabled user has this email');
    expect(text()).not.toContain('shown only this once');
  });

  it('checks the name before asking the server', async () => {
    const { api, calls } = fakeApi();
    await renderPage(api);
    await type('client-name', 'export/nightly');
    await type('client-owner', 'ops@example.org');
    await act(() => root.querySelector('form')!.requestSubmit());
    await settle();
    expect(root.querySelector('#client-name-error')?.textContent).toContain('Use only letters');
    expect(root.querySelector('#client-name')?.getAttribute('aria-invalid')).toBe('true');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('asks before deleting, says the scripts stop working, then deletes', async () => {
    const { api, calls } = fakeApi();
    await renderPage(api);

    await click(byLabel('Delete nightly export (ops@example.org)'));
    const dialog = root.querySelector('dialog')!;
    expect(dialog.hasAttribute('open')).toBe(true);
    expect(dialog.textContent).toContain('Delete “nightly export”?');
    expect(dialog.textContent).toContain('scripts and systems that use it');
    expect(dialog.textContent).toContain('stops working');
    await click(button('Cancel'));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    expect(root.querySelectorAll('tbody tr')).toHaveLength(2);

    await click(byLabel('Delete nightly export (ops@example.org)'));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    await click(button('Delete client'));
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/v1/admin/clients/c-export']);
    const rows = [...root.querySelectorAll('tbody tr')].map((r) => r.textContent);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('old scanner');
  });

  it('is for administrators only', async () => {
    const { api, calls } = fakeApi();
    await renderPage(api, { ...ADMIN, roles: ['member'] });
    expect(text()).toContain('This page is for administrators.');
    expect(calls).toHaveLength(0);
  });
});
