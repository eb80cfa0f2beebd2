// UC1 and UC2 end to end, in three browser contexts: the admin adds Alice; Alice sends three
// documents to Bob and watches them become ready; Bob opens the emailed link, proves the address
// with a code, checks the checksums, downloads, confirms receipt; Alice sees it all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import {
  ADMIN,
  SLOW,
  accessCode,
  accessLink,
  addUser,
  assertClean,
  codeMailsSoFar,
  docCard,
  formatBytes,
  makePdf,
  newPage,
  shoot,
  shownHash,
  signIn,
  startBrowser,
  startFerry,
  steps,
  userRow,
  waitForDocStatus,
  writeBytes,
} from './harness.mjs';

const T = 'uc1-uc2';
const ALICE = { email: 'alice@example.org', name: 'Alice Sender', password: 'alice password 42' };
const BOB = 'bob@example.com';
const SUBJECT = 'Quarterly figures and the signed contract';
const MESSAGE = 'Hello Bob,\n\nhere are the figures and the contract.\n\nAlice';

const test = steps();
let ferry;
let browser;
let admin;
let alice;
let bob;
let transferId;
let files;

before(async () => {
  [ferry, browser] = await Promise.all([startFerry(), startBrowser()]);
  files = [
    {
      ...writeBytes('figures.txt', 'Quarterly figures\nRevenue up 12 %\nCosts down 3 %\n'),
      type: 'text/plain',
      pages: '1 page',
      preview: 'Revenue up 12 %',
    },
    {
      ...writeBytes('table.csv', 'name,amount\nalice,10\nbob,20\n'),
      type: 'text/csv',
      pages: '1 page',
      preview: 'alice,10',
    },
    {
      ...writeBytes(
        'contract.pdf',
        makePdf([
          ['Service contract between Alice and Bob', 'Signed on the first of March'],
          ['Appendix: payment schedule', 'Twelve monthly instalments'],
        ]),
      ),
      type: 'application/pdf',
      pages: '2 pages',
      // Lines of one text block stay words apart, pages too.
      preview: 'Service contract between Alice and Bob Signed on the first of March Appendix',
    },
  ];
});

after(async () => {
  await browser?.close();
  await ferry?.stop();
});

test('the admin signs in and adds Alice as a member', async () => {
  ({ page: admin } = await newPage(browser));
  await signIn(admin, ferry, ADMIN);
  await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  await admin.getByRole('heading', { name: 'All users' }).waitFor();
  await shoot(admin, T, '01-admin-users');
  await addUser(admin, ferry, { ...ALICE, roles: ['member'] });
  const row = userRow(admin, ALICE.email);
  await row.getByRole('cell', { name: ALICE.name, exact: true }).waitFor();
  assert.equal((await row.locator('td[data-label=Roles]').textContent()).trim(), 'Member');
  assert.equal((await row.locator('td[data-label=Status]').textContent()).trim(), 'Enabled');
  await shoot(admin, T, '02-admin-alice-added');
  assertClean(admin);
});

test('Alice composes with the keyboard: Tab reaches the drop zone, Enter opens the file chooser', async () => {
  ({ page: alice } = await newPage(browser));
  await signIn(alice, ferry, ALICE);
  await alice.getByRole('heading', { level: 1, name: 'Send documents' }).waitFor();

  await alice.getByRole('textbox', { name: 'Recipients' }).fill(BOB);
  await alice.getByRole('textbox', { name: 'Recipients' }).press('Enter');
  await alice.getByRole('list', { name: 'Recipients added' }).getByText(BOB, { exact: true }).waitFor();
  await alice.getByLabel('Subject').fill(SUBJECT);
  await alice.getByLabel('Message').fill(MESSAGE);
  await alice.getByLabel('Available for').selectOption({ label: '3 days' });

  // Listening for the chooser well before Enter: turning the interception on takes a moment.
  const chooserShown = alice.waitForEvent('filechooser', { timeout: SLOW });
  chooserShown.catch(() => undefined);

  // From the expiry choice, the next Tab stops lead to the file picker.
  await alice.getByLabel('Available for').focus();
  let reached = false;
  for (let i = 0; i < 4 && !reached; i++) {
    await alice.keyboard.press('Tab');
    reached = await alice.evaluate(() => document.activeElement?.id === 'send-files');
  }
  assert.ok(reached, 'Tab does not reach the drop zone');

  // The focus shows: the file input itself is transparent, so its drop-zone label carries the ring.
  const focus = await alice.evaluate(() => {
    const el = document.activeElement;
    return [el, ...(el.labels ?? [])].map((x) => {
      const s = getComputedStyle(x);
      return {
        tag: x.tagName,
        visible: s.opacity !== '0' && s.visibility !== 'hidden' && x.getBoundingClientRect().width > 2,
        outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
        shadow: s.boxShadow !== 'none',
      };
    });
  });
  assert.ok(
    focus.some((f) => f.visible && (f.outline || f.shadow)),
    `no visible focus indicator on the drop zone: ${JSON.stringify(focus)}`,
  );
  await shoot(alice, T, '03-compose-dropzone-focused');

  await alice.keyboard.press('Enter');
  const chooser = await chooserShown;
  assert.ok(chooser.isMultiple(), 'the file chooser takes several files');
  await chooser.setFiles(files.map((f) => f.path));
  const list = alice.getByRole('list', { name: 'Files to send' });
  for (const f of files) await list.getByText(f.name, { exact: true }).waitFor();

  // The measured upload speed, and what it means for these files.
  const speed = alice.locator('.speed-line');
  await alice.waitForFunction(() => /^Your upload speed: /.test(document.querySelector('.speed-line')?.textContent ?? ''), null, {
    timeout: SLOW,
  });
  assert.match(await speed.textContent(), /^Your upload speed: [\d.]+ [kMGT]?bit\/s — about .+ for [\d.]+ [kMG]?B$/);
  await shoot(alice, T, '04-compose-ready');
  assertClean(alice);
});

test('Alice sends; every document becomes Ready on the page, without a reload', async () => {
  await alice.getByRole('button', { name: 'Send', exact: true }).click();
  await alice.waitForURL(/\/transfers\/[0-9a-f-]{36}$/, { timeout: SLOW });
  transferId = alice.url().split('/').pop();
  // Survives only as long as the page is not loaded again.
  await alice.evaluate(() => (window.__notReloaded = true));
  await alice.getByRole('heading', { level: 1, name: SUBJECT }).waitFor();
  await shoot(alice, T, '05-transfer-uploading');

  for (const f of files) {
    await waitForDocStatus(alice, f.name, 'Ready');
    const card = docCard(alice, f.name);
    const facts = await card.locator('.doc-facts').textContent();
    assert.ok(facts.includes(f.pages), `${f.name}: "${facts}" shows no page count ${f.pages}`);
    const preview = (await card.locator('.text-preview').textContent()).trim();
    assert.ok(preview.includes(f.preview), `${f.name}: text preview "${preview}"`);
  }
  await alice.locator('.transfer-status').getByText('Sent', { exact: true }).waitFor({ timeout: SLOW });
  assert.equal(await alice.evaluate(() => window.__notReloaded), true, 'the page was reloaded');
  await alice.getByRole('heading', { name: 'Recipients' }).scrollIntoViewIfNeeded();
  await shoot(alice, T, '06-transfer-sent');
  assertClean(alice);
});

test('Bob opens the emailed link, proves the address with a code and sees every document', async () => {
  const link = await accessLink(ferry, BOB, SUBJECT);
  ({ page: bob } = await newPage(browser));
  await bob.goto(`${ferry.url}${link}`);
  await bob.getByRole('heading', { level: 1, name: 'Documents for you' }).waitFor();
  await shoot(bob, T, '07-recipient-link');

  const seen = await codeMailsSoFar(ferry, BOB);
  await bob.getByRole('button', { name: 'Email me a code' }).click();
  const code = await accessCode(ferry, BOB, seen);
  await bob.getByLabel('Code from the email').fill(code);
  await shoot(bob, T, '08-recipient-code');
  await bob.getByRole('button', { name: 'Open the documents' }).click();
  await bob.getByRole('heading', { level: 1, name: SUBJECT }).waitFor();

  for (const f of files) {
    const card = docCard(bob, f.name);
    await card.waitFor();
    await card.locator('.doc-head').getByText('Ready', { exact: true }).waitFor();
    const facts = (await card.locator('.doc-facts').textContent()).split(' · ');
    assert.deepEqual(facts, [formatBytes(f.size), f.type, f.pages], `${f.name}: facts`);
    assert.equal(await shownHash(card, 'MD5'), f.md5, `${f.name}: MD5`);
    assert.equal(await shownHash(card, 'SHA-256'), f.sha256, `${f.name}: SHA-256`);
  }
  await shoot(bob, T, '09-recipient-documents');
  assertClean(bob);
});

test('Bob downloads a document: the bytes are the original ones', async () => {
  const pdf = files[2];
  const [download] = await Promise.all([
    bob.waitForEvent('download', { timeout: SLOW }),
    bob.getByRole('button', { name: `Download ${pdf.name}` }).click(),
  ]);
  assert.equal(download.suggestedFilename(), pdf.name);
  const path = await download.path();
  assert.ok(readFileSync(path).equals(readFileSync(pdf.path)), 'the downloaded bytes differ from the original');
  assertClean(bob);
});

test('Bob confirms receipt and the documents are deleted', async () => {
  await bob.getByRole('button', { name: 'Confirm receipt' }).click();
  const dialog = bob.getByRole('dialog', { name: 'Confirm that you received the documents?' });
  await dialog.waitFor();
  await shoot(bob, T, '10-recipient-confirm-dialog');
  await dialog.getByRole('button', { name: 'Yes, I received them' }).click();
  await bob.locator('.notice-success').getByText('Done. The documents have been deleted from Ferry.').waitFor({ timeout: SLOW });
  assert.equal(await bob.getByRole('button', { name: /^Download/ }).count(), 0, 'downloads are still offered');
  await shoot(bob, T, '11-recipient-done');
  assertClean(bob);
});

test('Alice sees Bob as received, and the download and receipt in the activity', async () => {
  // In-app navigation: Sent, then the transfer.
  await alice.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sent' }).click();
  await alice.getByRole('link', { name: SUBJECT }).click();
  await alice.waitForURL(`${ferry.url}/transfers/${transferId}`);
  const bobRow = alice.locator('.recipient-row', { hasText: BOB });
  await bobRow.getByText('Received', { exact: true }).waitFor({ timeout: SLOW });
  await alice.locator('.transfer-status').getByText('Completed', { exact: true }).waitFor();

  const activity = alice.locator('.event-list');
  await activity.getByText(`${BOB} downloaded ${files[2].name}`).waitFor();
  await activity.getByText(`${BOB} confirmed receipt`).waitFor();
  await activity.getByText('Ferry deleted the documents and their text').waitFor();
  for (const f of files) await waitForDocStatus(alice, f.name, 'Deleted');
  assert.equal(await alice.evaluate(() => window.__notReloaded), true, 'the page was reloaded');
  await shoot(alice, T, '12-transfer-completed');
  assertClean(alice, admin);
});
