// @vitest-environment jsdom
import { render } from 'preact';
import { LocationProvider } from 'preact-iso';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../api/client';
import type { DropFolder, Me } from '../../api/types';
import { SessionContext, type Session } from '../../auth/session';
import { Announcer } from '../../components/Announcer';
import { Layout } from '../../components/Layout';
import { DropFolderPage, EXAMPLE_MANIFEST } from './DropFolderPage';

const MEMBER: Me = { id: 'u-ops', email: 'ops@example.org', name: 'Ops', roles: ['member'] };
const FOLDER: DropFolder = {
  location: 's3://ferry-documents/inbox/u-ops/',
  default_recipients: ['auditor@example.com', 'finance@example.org'],
  subject: 'Nightly export',
  message: 'From the nightly job.',
};

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });
const problem = (status: number, detail: string) =>
  json(status, { type: 'urn:ferry:problem:invalid-request', title: 'Bad Request', status, detail }, 'application/problem+json');

interface Call {
  method: string;
  path: string;
  body: unknown;
}

/** The drop-folder routes, answered from memory; `saved` is what PUT answers. */
function fakeApi(options: { folder?: () => Response; saved?: (body: Record<string, unknown>) => Response } = {}) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    const path = new URL(url).pathname;
    const method = init.method ?? 'GET';
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, path, body });
    if (path !== '/api/v1/me/drop-folder') return problem(404, 'no such route');
    if (method === 'GET') return options.folder?.() ?? json(200, FOLDER);
    if (method === 'PUT') return options.saved?.(body) ?? json(200, { location: FOLDER.location, ...body });
    return problem(405, 'method not allowed');
  });
  vi.stubGlobal('fetch', fetch);
  return { api: new ApiClient('https://api.example.org', null), calls };
}

function session(api: ApiClient, me: Me = MEMBER): Session {
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
          <DropFolderPage />
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

/** Waits for the live regions, which fill a moment after they are emptied. */
const announced = async () => {
  await act(() => new Promise<void>((resolve) => setTimeout(resolve, 100)));
  return {
    polite: root.querySelector('[role="status"]')?.textContent ?? '',
    assertive: root.querySelector('[role="alert"]')?.textContent ?? '',
  };
};

const text = () => root.textContent ?? '';
const byLabel = (label: string) => root.querySelector<HTMLElement>(`[aria-label="${label}"]`)!;
const input = (id: string) => root.querySelector<HTMLInputElement | HTMLTextAreaElement>(`#${id}`)!;
const chips = () => [...root.querySelectorAll('.chip-address')].map((c) => c.textContent);
const putCalls = (calls: Call[]) => calls.filter((c) => c.method === 'PUT');

async function type(id: string, value: string) {
  const el = input(id);
  await act(() => {
    el.value = value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

async function addRecipient(address: string) {
  await type('drop-recipients', address);
  await act(() => {
    input('drop-recipients').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  });
}

async function click(el: HTMLElement) {
  await act(() => el.click());
  await settle();
}

async function save() {
  await act(() => root.querySelector('form')!.requestSubmit());
  await settle();
}

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

describe('DropFolderPage', () => {
  it('shows where to put files, the rules and the current defaults', async () => {
    const { api, calls } = fakeApi();
    await renderPage(api);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /api/v1/me/drop-folder']);
    expect(root.querySelector('h1')?.textContent).toBe('Drop folder');
    expect(root.querySelector('.copy-value code')?.textContent).toBe(FOLDER.location);
    expect(byLabel('Copy Drop folder location')).toBeTruthy();
    expect(text()).toContain(`aws s3 cp report.pdf ${FOLDER.location}`);
    expect(text()).toContain('something.ferry.json');
    expect(text()).toContain('.failed/');
    expect(text()).toContain('.reason.txt');
    expect(text().toLowerCase()).not.toContain('inbox ');
    // The example can be copied and used as it is.
    expect(byLabel('Example manifest').textContent).toBe(EXAMPLE_MANIFEST);
    expect(JSON.parse(EXAMPLE_MANIFEST).files[1].name).toBe('ledger.csv');
    expect(byLabel('Copy Example manifest')).toBeTruthy();

    expect(chips()).toEqual(FOLDER.default_recipients);
    expect(input('drop-subject').value).toBe('Nightly export');
    expect(input('drop-message').value).toBe('From the nightly job.');
    expect(root.querySelector('.notice-warning')).toBeNull();
  });

  it('says a local folder is a folder, and warns when files without a manifest would wait', async () => {
    const { api } = fakeApi({
      folder: () =>
        json(200, { location: '/var/lib/ferry/inbox/u-ops/', default_recipients: [], subject: null, message: null }),
    });
    await renderPage(api);
    expect(root.querySelector('.copy-value code')?.textContent).toBe('/var/lib/ferry/inbox/u-ops/');
    expect(text()).not.toContain('aws s3 cp');
    expect(root.querySelector('.notice-warning')?.textContent).toContain('no default recipients');
    expect(chips()).toEqual([]);
    expect(input('drop-subject').value).toBe('');
  });

  it('saves the defaults with a PUT and says so', async () => {
    const { api, calls } = fakeApi({
      saved: (body) => json(200, { location: FOLDER.location, ...body, subject: (body.subject as string).trim() }),
    });
    await renderPage(api);
    await click(byLabel('Remove finance@example.org'));
    await addRecipient('Legal@Example.org');
    await type('drop-subject', 'Monthly ledger  ');
    await type('drop-message', '   ');
    await save();

    expect(putCalls(calls)).toEqual([
      {
        method: 'PUT',
        path: '/api/v1/me/drop-folder',
        body: {
          default_recipients: ['auditor@example.com', 'legal@example.org'],
          subject: 'Monthly ledger',
          message: null,
        },
      },
    ]);
    expect(root.querySelector('.notice-success')?.textContent).toContain('Saved');
    expect(root.querySelector('.notice-error')).toBeNull();
    expect((await announced()).polite).toBe('Drop folder settings saved.');
    expect(input('drop-message').value).toBe('');

    // Editing again takes the "Saved" away: it would no longer be true.
    await type('drop-subject', 'Something else');
    expect(root.querySelector('.notice-success')).toBeNull();
  });

  it('saves an empty recipient list, which stops files without a manifest', async () => {
    const { api, calls } = fakeApi();
    await renderPage(api);
    await click(byLabel('Remove auditor@example.com'));
    await click(byLabel('Remove finance@example.org'));
    await save();
    expect(putCalls(calls)[0]?.body).toEqual({
      default_recipients: [],
      subject: 'Nightly export',
      message: 'From the nightly job.',
    });
    expect(root.querySelector('.notice-success')).toBeTruthy();
    expect(root.querySelector('.notice-warning')?.textContent).toContain('no default recipients');
  });

  it('shows why the server refused, and claims no success', async () => {
    const { api, calls } = fakeApi({
      saved: () => problem(400, "default_recipients: 'legal@example.invalid': the domain does not receive mail"),
    });
    await renderPage(api);
    await addRecipient('legal@example.invalid');
    await save();

    expect(putCalls(calls)).toHaveLength(1);
    const error = root.querySelector('form .notice-error')?.textContent ?? '';
    expect(error).toContain('Not saved.');
    expect(error).toContain("Default recipients: 'legal@example.invalid': the domain does not receive mail.");
    expect(root.querySelector('.notice-success')).toBeNull();
    expect(text()).not.toContain('Saved.');
    const { polite, assertive } = await announced();
    expect(polite).not.toContain('saved');
    expect(assertive).toContain('the domain does not receive mail');
    // What was typed stays, to be corrected.
    expect(chips()).toContain('legal@example.invalid');
    expect(root.querySelector<HTMLButtonElement>('button[type="submit"]')?.disabled).toBe(false);
  });

  it('does not send an address that cannot be used', async () => {
    const { api, calls } = fakeApi();
    await renderPage(api);
    await addRecipient('not-an-address');
    await save();
    expect(putCalls(calls)).toHaveLength(0);
    expect(root.querySelector('#drop-recipients-error')?.textContent).toContain('not-an-address');
    expect(root.querySelector('.notice-success')).toBeNull();
  });

  it('says when the drop folder cannot be read, and tries again', async () => {
    let fail = true;
    const { api } = fakeApi({
      folder: () => (fail ? problem(503, 'unavailable') : json(200, FOLDER)),
    });
    await renderPage(api);
    expect(root.querySelector('.notice-error')?.textContent).toContain('not available right now');
    expect(root.querySelector('form')).toBeNull();
    fail = false;
    await click([...root.querySelectorAll('button')].find((b) => b.textContent === 'Try again')!);
    expect(root.querySelector('.notice-error')).toBeNull();
    expect(chips()).toEqual(FOLDER.default_recipients);
  });

  it('is for members only', async () => {
    const { api, calls } = fakeApi();
    await renderPage(api, { ...MEMBER, roles: [] });
    expect(text()).toContain('Your account may not send documents.');
    expect(calls).toHaveLength(0);
  });
});

describe('Layout', () => {
  async function renderLayout(me: Me) {
    const { api } = fakeApi();
    await act(() => {
      render(
        <LocationProvider>
          <SessionContext.Provider value={session(api, me)}>
            <Announcer>
              <Layout>
                <p>page</p>
              </Layout>
            </Announcer>
          </SessionContext.Provider>
        </LocationProvider>,
        root,
      );
    });
    return [...root.querySelectorAll('nav a')].map((a) => [a.textContent, a.getAttribute('href')]);
  }

  it('links members to their drop folder', async () => {
    expect(await renderLayout(MEMBER)).toContainEqual(['Drop folder', '/drop-folder']);
  });

  it('shows no drop folder to users who may not send', async () => {
    const links = await renderLayout({ ...MEMBER, roles: [] });
    expect(links.map(([label]) => label)).not.toContain('Drop folder');
  });
});
