// The drop folder end to end: the admin (also a member) finds the folder's location on the
// "Drop folder" page, saves default recipients and a subject, writes a file straight into the
// folder, and sees Ferry send it on its own: a sent transfer in the outbox, the invitation mail,
// the file gone from the folder. Defaults that cannot be used are not saved.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, before } from 'node:test';
import {
  ADMIN,
  SLOW,
  assertClean,
  eventually,
  newPage,
  shoot,
  signIn,
  startBrowser,
  startFerry,
  steps,
  waitForDocStatus,
  waitForMail,
} from './harness.mjs';

const T = 'drop-folder';
const DORA = 'dora@example.com';
const SUBJECT = 'Scans';
const MESSAGE = 'Scanned at the front desk.';
const FILE = 'letter.txt';
const LETTER = 'Dear Dora,\n\nthe signed letter, scanned this morning.\n\nRegards\n';

const test = steps();
let ferry;
let browser;
let admin;
let location;

before(async () => {
  [ferry, browser] = await Promise.all([startFerry(), startBrowser()]);
  ({ page: admin } = await newPage(browser));
  await signIn(admin, ferry, ADMIN);
});

after(async () => {
  await browser?.close();
  await ferry?.stop();
});

const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const recipientsBox = (page) => page.getByRole('textbox', { name: 'Recipients' });
const chips = (page) => page.locator('form .chip-address').allTextContents();
const subjectBox = (page) => page.getByRole('textbox', { name: /^Subject/ });
const messageBox = (page) => page.getByRole('textbox', { name: /^Message/ });
const saved = (page) => page.locator('form .notice-success');

/** The Drop folder page, loaded from the server: heading and form shown. */
async function openDropFolder(page, { reload = false } = {}) {
  if (reload) await page.reload();
  else await nav(page, 'Drop folder').click();
  await page.waitForURL(`${ferry.url}/drop-folder`);
  await page.getByRole('heading', { level: 1, name: 'Drop folder' }).waitFor();
  await page.getByRole('button', { name: 'Save', exact: true }).waitFor();
}

/** Adds one address as a chip in the recipients field. */
async function addRecipient(page, address) {
  await recipientsBox(page).fill(address);
  await recipientsBox(page).press('Enter');
  await page.getByRole('list', { name: 'Recipients added' }).getByText(address, { exact: true }).waitFor();
}

/** What the page shows as saved, after reading it again from the server. */
async function shownDefaults(page) {
  await openDropFolder(page, { reload: true });
  return {
    recipients: await chips(page),
    subject: await subjectBox(page).inputValue(),
    message: await messageBox(page).inputValue(),
  };
}

test('the Drop folder page shows the folder’s location and the rules', async () => {
  await nav(admin, 'Drop folder').waitFor();
  await openDropFolder(admin);
  const where = admin.locator('.copy-value', { has: admin.locator('dt', { hasText: 'Drop folder location' }) });
  location = (await where.locator('code').textContent()).trim();
  assert.ok(isAbsolute(location), `the location "${location}" is not an absolute path`);
  // ferry-local: DATA_DIR/inbox/{user id}/, the data directory being the harness's temporary one.
  assert.match(location, /\/inbox\/[^/]+\/$/, `the location "${location}" is not a user's folder in the inbox`);
  assert.ok(location.startsWith(join(tmpdir(), 'ferry-e2e-')), `the location "${location}" is outside the data directory`);
  await where.getByRole('button', { name: 'Copy Drop folder location' }).waitFor();
  await admin.getByRole('heading', { name: 'How files are sent' }).waitFor();
  // Nobody to send to yet: the page says a file would wait.
  await admin.locator('.notice-warning').getByText(/no default recipients/).waitFor();
  assert.deepEqual(await chips(admin), []);
  await shoot(admin, T, '01-drop-folder');
  assertClean(admin);
});

test('default recipient and subject are saved and shown again after a reload', async () => {
  await addRecipient(admin, DORA);
  await subjectBox(admin).fill(SUBJECT);
  await messageBox(admin).fill(MESSAGE);
  await admin.getByRole('button', { name: 'Save', exact: true }).click();
  await saved(admin).getByText('Saved. Files that arrive from now on use these defaults.').waitFor();
  assert.equal(await admin.locator('form .notice-error').count(), 0);
  assert.equal(await admin.locator('.notice-warning').count(), 0, 'the warning about no recipients stays');
  await shoot(admin, T, '02-defaults-saved');

  assert.deepEqual(await shownDefaults(admin), { recipients: [DORA], subject: SUBJECT, message: MESSAGE });
  assert.equal(await saved(admin).count(), 0, 'a fresh page claims a save');
  assertClean(admin);
});

test('a file written into the folder is sent to the default recipient', async (t) => {
  mkdirSync(location, { recursive: true });
  // Written under a hidden name, which the watcher skips, then put in place at once.
  const partial = join(location, `.${FILE}.part`);
  writeFileSync(partial, LETTER);
  const dropped = Date.now();
  renameSync(partial, join(location, FILE));

  // The outbox is read again until the transfer is there and sent.
  await nav(admin, 'Sent').click();
  await admin.getByRole('heading', { level: 1, name: 'Sent' }).waitFor();
  const item = admin.locator('li.transfer-item', {
    has: admin.getByRole('heading', { level: 2 }).getByRole('link', { name: SUBJECT, exact: true }),
  });
  await eventually(
    async () => {
      if ((await item.count()) === 1 && (await item.locator('.doc-head .badge').textContent()) === 'Sent') return true;
      await admin.reload();
      await admin.getByRole('heading', { level: 1, name: 'Sent' }).waitFor();
      await admin.locator('.transfer-list, main p:has-text("You have not sent anything yet.")').first().waitFor();
      return false;
    },
    { intervalMs: 500, message: `a sent transfer "${SUBJECT}" in the outbox` },
  );
  t.diagnostic(`sent and listed ${((Date.now() - dropped) / 1000).toFixed(1)} s after the file was dropped`);
  assert.ok((await item.locator('p.muted').textContent()).endsWith(` · 1 document, ${Buffer.byteLength(LETTER)} B`));
  const recipients = item.getByRole('list', { name: 'Recipients' });
  assert.deepEqual(await recipients.locator('.recipient-email').allTextContents(), [DORA]);
  await shoot(admin, T, '03-outbox');

  const mail = await waitForMail(ferry, DORA, 'Documents from', { contains: SUBJECT, timeoutMs: SLOW });
  assert.equal(mail.subject, `Documents from ${ADMIN.email}: ${SUBJECT}`);
  const body = mail.raw.replace(/=\r?\n/g, '');
  assert.ok(body.includes(MESSAGE), 'the invitation lacks the default message');
  assert.ok(body.includes(`- ${FILE} (${Buffer.byteLength(LETTER)} bytes)`), 'the invitation does not list the file');

  // The transfer's page: the file, checked and ready, and the default message.
  await item.getByRole('link', { name: SUBJECT, exact: true }).click();
  await admin.waitForURL(/\/transfers\/[0-9a-f-]{36}$/);
  await admin.getByRole('heading', { level: 1, name: SUBJECT }).waitFor();
  await waitForDocStatus(admin, FILE, 'Ready');
  await admin.locator('.transfer-status').getByText('Sent', { exact: true }).waitFor();
  await admin.getByText(MESSAGE).first().waitFor();
  await shoot(admin, T, '04-transfer');

  // Handed over: nothing left in the folder, and nothing set aside as failed.
  await eventually(() => !existsSync(join(location, FILE)), { timeoutMs: 10_000, message: `${FILE} to leave the drop folder` });
  assert.deepEqual(readdirSync(location), [], 'the drop folder is not empty');
  assertClean(admin);
});

test('an address that cannot be used is not saved', async () => {
  await openDropFolder(admin);
  const puts = [];
  const onRequest = (r) => {
    if (r.method() === 'PUT' && r.url().endsWith('/api/v1/me/drop-folder')) puts.push(r);
  };
  admin.on('request', onRequest);
  try {
    // The page refuses it before asking the server.
    await addRecipient(admin, 'not-an-address');
    await admin.locator('form .chip-invalid', { hasText: 'not-an-address' }).waitFor();
    await admin.getByRole('button', { name: 'Save', exact: true }).click();
    const fieldError = admin.locator('#drop-recipients-error');
    await fieldError.getByText(/not-an-address/).waitFor();
    assert.equal(await recipientsBox(admin).getAttribute('aria-invalid'), 'true');
    assert.equal(await saved(admin).count(), 0, 'the page claims the invalid address was saved');
    assert.equal(puts.length, 0, 'the page sent an address it knows to be unusable');
    await shoot(admin, T, '05-refused-by-the-page');

    // The server refuses it too, with a problem detail the form shows: the request is changed
    // on its way, as a client that skipped the page's check would send it.
    await admin.getByRole('button', { name: 'Remove not-an-address' }).click();
    await admin.route('**/api/v1/me/drop-folder', async (route) => {
      const request = route.request();
      if (request.method() !== 'PUT') return route.continue();
      const body = JSON.parse(request.postData());
      return route.continue({ postData: JSON.stringify({ ...body, default_recipients: ['not-an-address'] }) });
    });
    await admin.getByRole('button', { name: 'Save', exact: true }).click();
    const problem = admin.locator('form .notice-error');
    await problem.waitFor();
    const detail = (await problem.textContent()).trim();
    assert.match(detail, /^Not saved\. Default recipients: \S/, `the form says "${detail}"`);
    assert.equal(await saved(admin).count(), 0, 'the page claims success after the server refused');
    assert.equal(puts.length, 1);
    assert.equal((await puts[0].response())?.status(), 400);
    await shoot(admin, T, '06-refused-by-the-server');
    await admin.unrouteAll();
  } finally {
    admin.off('request', onRequest);
  }

  // Nothing changed on the server.
  assert.deepEqual(await shownDefaults(admin), { recipients: [DORA], subject: SUBJECT, message: MESSAGE });
  assertClean(admin);
});
