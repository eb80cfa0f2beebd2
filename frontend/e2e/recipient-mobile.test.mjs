// The recipient's whole path on a phone-sized screen (390×844): link, code, documents, download,
// receipt, deletion; no screen may scroll sideways.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  ADMIN,
  SLOW,
  accessCode,
  accessLink,
  assertClean,
  assertNoHorizontalScroll,
  codeMailsSoFar,
  compose,
  docCard,
  makePdf,
  newPage,
  send,
  shoot,
  shownHash,
  signIn,
  startBrowser,
  startFerry,
  waitForDocStatus,
  writeBytes,
} from './harness.mjs';

const T = 'recipient-mobile';
const ERIN = 'erin.with.a.rather.long.address@example.org';
// Long words and names are what push a narrow page sideways.
const SUBJECT = 'Signed contract and the annex with the reconciliation of the quarterly figures';
const PHONE = { width: 390, height: 844 };

let ferry;
let browser;
let files;

before(async () => {
  [ferry, browser] = await Promise.all([startFerry(), startBrowser()]);
  files = [
    writeBytes('contract-2026-final-signed-version-for-erin.pdf', makePdf([['Contract for Erin', 'Signed by both parties']])),
    writeBytes('reconciliation_of_quarterly_figures_2026.csv', 'account,amount,comment\n4000,1200.50,revenue\n6000,-310.00,costs\n'),
  ];
  const { context, page } = await newPage(browser);
  await signIn(page, ferry, ADMIN);
  await compose(page, {
    recipients: [ERIN],
    subject: SUBJECT,
    message: 'Hello Erin,\n\nplease find the signed contract attached: https://example.org/a/very/long/reference/that/does/not/break/easily',
    files,
  });
  await send(page);
  for (const f of files) await waitForDocStatus(page, f.name, 'Ready');
  await page.locator('.transfer-status').getByText('Sent', { exact: true }).waitFor({ timeout: SLOW });
  assertClean(page);
  await context.close();
});

after(async () => {
  await browser?.close();
  await ferry?.stop();
});

test('on a phone: link → code → documents → download → receipt → deleted, never wider than the screen', async () => {
  const link = await accessLink(ferry, ERIN, SUBJECT);
  const { page } = await newPage(browser, PHONE);
  const screen = async (name) => {
    await assertNoHorizontalScroll(page, name);
    await shoot(page, T, name);
  };

  await page.goto(`${ferry.url}${link}`);
  await page.getByRole('heading', { level: 1, name: 'Documents for you' }).waitFor();
  await screen('01-link');

  const seen = await codeMailsSoFar(ferry, ERIN);
  await page.getByRole('button', { name: 'Email me a code' }).click();
  const input = page.getByLabel('Code from the email');
  await input.waitFor();
  // The code field takes the focus, so the phone's keyboard comes up at once.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'access-code');
  await screen('02-code-requested');
  await input.fill(await accessCode(ferry, ERIN, seen));
  await page.getByRole('button', { name: 'Open the documents' }).click();

  await page.getByRole('heading', { level: 1, name: SUBJECT }).waitFor();
  for (const f of files) {
    const card = docCard(page, f.name);
    await card.locator('.doc-head').getByText('Ready', { exact: true }).waitFor();
    assert.equal(await shownHash(card, 'MD5'), f.md5, `${f.name}: MD5`);
    assert.equal(await shownHash(card, 'SHA-256'), f.sha256, `${f.name}: SHA-256`);
  }
  await screen('03-documents');

  const csv = files[1];
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: SLOW }),
    page.getByRole('button', { name: `Download ${csv.name}` }).click(),
  ]);
  assert.ok(readFileSync(await download.path()).equals(readFileSync(csv.path)), 'the downloaded bytes differ');
  await page.getByRole('button', { name: `Download ${csv.name}` }).getByText('Download', { exact: true }).waitFor();
  await screen('04-downloaded');

  await page.getByRole('button', { name: 'Confirm receipt' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm that you received the documents?' });
  await dialog.waitFor();
  await screen('05-confirm-dialog');
  await dialog.getByRole('button', { name: 'Yes, I received them' }).click();

  await page.locator('.notice-success').getByText('Done. The documents have been deleted from Ferry.').waitFor({ timeout: SLOW });
  await screen('06-deleted');
  assertClean(page);
});
