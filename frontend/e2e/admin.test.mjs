// The administrator's pages: a user's whole life (add, change, disable, enable, delete) and the
// audit trail with its filters and paging.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  ADMIN,
  SLOW,
  assertClean,
  compose,
  newPage,
  send,
  shoot,
  signIn,
  startBrowser,
  startFerry,
  steps,
  userRow,
  waitForDocStatus,
  writeBytes,
} from './harness.mjs';

const T = 'admin';
const CAROL = { email: 'carol@example.org', name: 'Carol Example', password: 'carol password 42' };
const RENAMED = 'Carol Changed';

const test = steps();
let ferry;
let browser;
let admin;
let transferId;

before(async () => {
  [ferry, browser] = await Promise.all([startFerry(), startBrowser()]);
  ({ page: admin } = await newPage(browser));
  await signIn(admin, ferry, ADMIN);
});

after(async () => {
  await browser?.close();
  await ferry?.stop();
});

const cell = (row, label) => row.locator(`td[data-label="${label}"]`);
const text = async (locator) => (await locator.textContent()).trim();

/** The sign-in form's answer to these credentials: the portal signed in, or the form's message. */
async function trySignIn(email, password) {
  const { context, page } = await newPage(browser);
  await page.goto(`${ferry.url}/`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const outcome = await Promise.race([
    page.locator('.user-name').waitFor({ timeout: SLOW }).then(() => 'signed in'),
    // The identity provider's form, back with a message.
    page.locator('p.error[role=alert]').waitFor({ timeout: SLOW }).then(() => text(page.locator('p.error[role=alert]'))),
  ]);
  return { context, page, outcome };
}

test('add a user with email, name, roles and an initial password', async () => {
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  await admin.locator('summary', { hasText: 'Add a user' }).click();
  await admin.getByLabel('Email', { exact: true }).fill(CAROL.email);
  await admin.getByLabel('Name', { exact: true }).fill(CAROL.name);
  assert.ok(await admin.getByRole('checkbox', { name: /^Member/ }).first().isChecked(), 'new users are members by default');
  await admin.getByLabel('Initial password').fill(CAROL.password);
  await shoot(admin, T, '01-add-user-form');
  await admin.getByRole('button', { name: 'Add user' }).click();

  const row = userRow(admin, CAROL.email);
  await row.waitFor();
  assert.equal(await text(cell(row, 'Name')), CAROL.name);
  assert.equal(await text(cell(row, 'Roles')), 'Member');
  assert.equal(await text(cell(row, 'Status')), 'Enabled');
  await shoot(admin, T, '02-user-added');
  assertClean(admin);
});

test('change the name and the roles', async () => {
  await admin.getByRole('button', { name: `Edit ${CAROL.email}` }).click();
  const dialog = admin.getByRole('dialog', { name: `Edit ${CAROL.email}` });
  await dialog.waitFor();
  await dialog.getByLabel('Name').fill(RENAMED);
  await dialog.getByRole('checkbox', { name: /^Administrator/ }).check();
  await shoot(admin, T, '03-edit-dialog');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });

  const row = userRow(admin, CAROL.email);
  await cell(row, 'Name').getByText(RENAMED).waitFor();
  assert.deepEqual((await text(cell(row, 'Roles'))).split(', ').sort(), ['Administrator', 'Member']);
  await shoot(admin, T, '04-user-changed');
  assertClean(admin);
});

test('disable after confirming; the disabled user cannot sign in', async () => {
  await admin.getByRole('button', { name: `Disable ${CAROL.email}` }).click();
  const dialog = admin.getByRole('dialog', { name: `Disable ${RENAMED}?` });
  await dialog.waitFor();
  await shoot(admin, T, '05-disable-dialog');
  // The safe answer has the focus: Enter alone must not disable anyone.
  assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Cancel');
  await dialog.getByRole('button', { name: 'Disable', exact: true }).click();
  const row = userRow(admin, CAROL.email);
  await cell(row, 'Status').getByText('Disabled', { exact: true }).waitFor();
  await admin.getByRole('button', { name: `Enable ${CAROL.email}` }).waitFor();
  await shoot(admin, T, '06-user-disabled');

  const { context, page, outcome } = await trySignIn(CAROL.email, CAROL.password);
  assert.equal(outcome, 'The email or password is not right.');
  await shoot(page, T, '07-disabled-sign-in-refused');
  assertClean(page, admin);
  await context.close();
});

test('enable again: the user signs in', async () => {
  await admin.getByRole('button', { name: `Enable ${CAROL.email}` }).click();
  const row = userRow(admin, CAROL.email);
  await cell(row, 'Status').getByText('Enabled', { exact: true }).waitFor();
  await shoot(admin, T, '08-user-enabled');

  const { context, page, outcome } = await trySignIn(CAROL.email, CAROL.password);
  assert.equal(outcome, 'signed in');
  assert.equal(await text(page.locator('.user-name')), RENAMED);
  assertClean(page, admin);
  await context.close();
});

test('delete after confirming: the user is gone from the list', async () => {
  await admin.getByRole('button', { name: `Delete ${CAROL.email}` }).click();
  const dialog = admin.getByRole('dialog', { name: `Delete ${RENAMED}?` });
  await dialog.waitFor();
  await shoot(admin, T, '09-delete-dialog');
  await dialog.getByRole('button', { name: 'Delete user' }).click();
  await userRow(admin, CAROL.email).waitFor({ state: 'detached' });

  // Still gone when the list is read again from the server.
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sent' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Sent' }).waitFor();
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  await userRow(admin, ADMIN.email).waitFor();
  assert.equal(await userRow(admin, CAROL.email).count(), 0);
  await shoot(admin, T, '10-user-deleted');

  const { context, page, outcome } = await trySignIn(CAROL.email, CAROL.password);
  assert.equal(outcome, 'The email or password is not right.');
  assertClean(page, admin);
  await context.close();
});

test('the audit trail lists events; filters by actor and by transfer narrow them', async () => {
  // A transfer, so there is something to filter by.
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Send' }).click();
  const note = writeBytes('note.txt', 'A short note for the audit trail.\n');
  await compose(admin, { recipients: ['dave@example.net'], subject: 'A note', files: [note] });
  transferId = await send(admin);
  await waitForDocStatus(admin, note.name, 'Ready');
  await admin.locator('.transfer-status').getByText('Sent', { exact: true }).waitFor({ timeout: SLOW });

  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit trail' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Audit trail' }).waitFor();
  const rows = admin.locator('table.audit-table tbody tr');
  await rows.first().waitFor();
  const all = await rows.count();
  const actors = await admin.locator('table.audit-table td[data-label="Actor"]').allTextContents();
  assert.ok(actors.includes('system'), 'Ferry’s own events are listed');
  // A registered user's events name them by email, with the recorded id beside it.
  const adminActor = actors.find((a) => a.startsWith(ADMIN.email));
  assert.ok(adminActor && adminActor.includes('user:'), `the admin’s events are listed: ${actors}`);
  for (const action of ['user.created', 'user.changed', 'user.deleted', 'transfer.created']) {
    await admin.locator('table.audit-table code', { hasText: action }).first().waitFor();
  }
  await shoot(admin, T, '11-audit');

  // Filtering by the email finds the events recorded under the user's id.
  await admin.getByLabel('Actor').fill(ADMIN.email);
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.waitForFunction(
    (actor) => [...document.querySelectorAll('table.audit-table td[data-label="Actor"]')].every((td) => td.textContent === actor),
    adminActor,
  );
  const byActor = await rows.count();
  assert.ok(byActor > 0 && byActor < all, `the actor filter gave ${byActor} of ${all} rows`);
  await shoot(admin, T, '12-audit-by-actor');

  await admin.getByLabel('Actor').fill('');
  await admin.getByLabel('Transfer id').fill(transferId);
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.waitForFunction(
    (tid) =>
      [...document.querySelectorAll('table.audit-table td[data-label="Transfer"]')].every(
        (td) => td.querySelector('a')?.getAttribute('href') === `/transfers/${tid}`,
      ),
    transferId,
  );
  const byTransfer = await rows.count();
  assert.ok(byTransfer > 0 && byTransfer < all, `the transfer filter gave ${byTransfer} of ${all} rows`);
  const what = await admin.locator('table.audit-table td[data-label="What"] code').allTextContents();
  assert.ok(what.includes('transfer.created') && what.includes('recipient.notified'), `transfer events: ${what}`);
  await shoot(admin, T, '13-audit-by-transfer');

  await admin.getByLabel('Transfer id').fill('not-a-transfer-id');
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.locator('.filters .field-error').getByText(/^A transfer id looks like/).waitFor();
  assertClean(admin);
});

test('the audit trail pages with "Load more"', async () => {
  // A handful of events would fit on one page of 100; ask the server for pages of 3 instead, so
  // the cursor and the button are exercised against the real API.
  await admin.route(/\/api\/v1\/admin\/audit\?/, (route) => {
    const url = new URL(route.request().url());
    url.searchParams.set('limit', '3');
    return route.continue({ url: url.toString() });
  });
  await admin.getByLabel('Transfer id').fill('');
  await admin.getByRole('button', { name: 'Search' }).click();
  const rows = admin.locator('table.audit-table tbody tr');
  await admin.waitForFunction(() => document.querySelectorAll('table.audit-table tbody tr').length === 3);
  const firstPage = await rows.allTextContents();

  await admin.getByRole('button', { name: 'Load more' }).click();
  await admin.waitForFunction(() => document.querySelectorAll('table.audit-table tbody tr').length === 6);
  const both = await rows.allTextContents();
  assert.deepEqual(both.slice(0, 3), firstPage, 'the first page stays in place');
  const times = await admin.locator('table.audit-table time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
  for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i], 'events are newest first across pages');
  await shoot(admin, T, '14-audit-load-more');
  await admin.unrouteAll();
  assertClean(admin);
});
