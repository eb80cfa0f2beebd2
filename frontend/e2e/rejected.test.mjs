// Files that are not what they claim, or of a kind Ferry does not take, are rejected with the
// reason in words; the good file of the same transfer still goes through.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  ADMIN,
  SLOW,
  accessLink,
  assertClean,
  compose,
  docCard,
  newPage,
  send,
  shoot,
  signIn,
  startBrowser,
  startFerry,
  waitForDocStatus,
  writeBytes,
} from './harness.mjs';

const T = 'rejected';
const SUBJECT = 'Report, tool and data';
// The sentences the portal uses for the reasons (none of them is a code like type_mismatch).
const IN_WORDS = [
  'This kind of file is not accepted here.',
  'The file’s content does not match its name or type.',
];

let ferry;
let browser;

before(async () => {
  [ferry, browser] = await Promise.all([startFerry(), startBrowser()]);
});

after(async () => {
  await browser?.close();
  await ferry?.stop();
});

test('an executable named report.pdf, disallowed types and a false PDF are rejected in words; the good file is ready', async () => {
  const elf = Buffer.concat([
    Buffer.from('7f454c46020101000000000000000000', 'hex'),
    Buffer.from('\x02\x00\x3e\x00\x01\x00\x00\x00', 'latin1'),
    Buffer.alloc(48),
    Buffer.from('Annual report 2025: figures and commentary.\n'.repeat(20)),
  ]);
  const bad = [
    writeBytes('report.pdf', elf),
    writeBytes('tool.exe', Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), randomBytes(500)])),
    writeBytes('data.bin', randomBytes(4096)),
    writeBytes('minutes.pdf', 'Minutes of the meeting, in plain text, not a PDF at all.\n'),
  ];
  const good = writeBytes('notes.txt', 'Meeting notes\nThe report follows next week.\n');

  const { page } = await newPage(browser);
  await signIn(page, ferry, ADMIN);
  await compose(page, { recipients: ['bob@example.com'], subject: SUBJECT, files: [...bad, good] });
  await send(page);

  await waitForDocStatus(page, good.name, 'Ready');
  for (const f of bad) {
    await waitForDocStatus(page, f.name, 'Rejected');
    const reason = (await docCard(page, f.name).locator('.field-error').textContent()).trim();
    assert.ok(IN_WORDS.includes(reason), `${f.name}: the reason "${reason}" is not one of the sentences`);
    assert.doesNotMatch(reason, /[a-z]+_[a-z]+/, `${f.name}: the reason shows a code`);
  }
  // The executable is never taken, whatever its name says.
  const reasonOf = async (name) => (await docCard(page, name).locator('.field-error').textContent()).trim();
  assert.equal(await reasonOf('report.pdf'), 'This kind of file is not accepted here.');
  // Text that calls itself a PDF is a document, but not the one it claims to be.
  assert.equal(await reasonOf('minutes.pdf'), 'The file’s content does not match its name or type.');

  // With one good file the transfer is sent, and the activity says why the others were not.
  await page.locator('.transfer-status').getByText('Sent', { exact: true }).waitFor({ timeout: SLOW });
  const activity = page.locator('.event-list');
  for (const f of bad) await activity.getByText(`Ferry rejected ${f.name}.`).waitFor();
  assert.equal(await activity.getByText(/_/).count(), 0, 'the activity shows a code');
  await shoot(page, T, '01-transfer-with-rejections');

  // The recipient is emailed about the accepted file.
  assert.match(await accessLink(ferry, 'bob@example.com', SUBJECT), /^\/r\//);
  assertClean(page);
});
