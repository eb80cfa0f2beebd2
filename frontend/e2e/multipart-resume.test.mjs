// A large file goes up in 16 MiB parts. Cut off from the network, the upload waits and goes on by
// itself; after a reload, the same file picked again sends only the parts still missing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ADMIN,
  SLOW,
  assertClean,
  compose,
  docCard,
  makeFile,
  newPage,
  send,
  shoot,
  shownHash,
  signIn,
  startBrowser,
  startFerry,
  throttle,
  waitForDocStatus,
} from './harness.mjs';

const T = 'multipart-resume';
const MiB = 1024 * 1024;
const PARTS = 5;

let ferry;
let browser;
let page;
let big;

before(async () => {
  [ferry, browser, big] = await Promise.all([startFerry(), startBrowser(), makeFile('ledger.txt', 72 * MiB)]);
  ({ page } = await newPage(browser));
  await signIn(page, ferry, ADMIN);
});

after(async () => {
  await browser?.close();
  await ferry?.stop();
});

/** Part PUTs to storage as the page sends them: `{number, status}` once answered. */
function watchParts(p) {
  const requested = [];
  const answered = [];
  const partOf = (url) => {
    if (!url.includes('/_storage/')) return null;
    const n = new URL(url).searchParams.get('partNumber');
    return n === null ? null : Number(n);
  };
  p.on('request', (r) => {
    const n = r.method() === 'PUT' ? partOf(r.url()) : null;
    if (n !== null) requested.push(n);
  });
  p.on('response', (r) => {
    const n = r.request().method() === 'PUT' ? partOf(r.url()) : null;
    if (n !== null) answered.push({ number: n, status: r.status() });
  });
  return { requested, answered, ok: () => answered.filter((a) => a.status === 200).map((a) => a.number) };
}

/** The upload's total percentage as the panel shows it, or null without a panel. */
async function uploadPercent(p) {
  const label = await p.locator('#upload-total-label').textContent({ timeout: 1000 }).catch(() => null);
  const m = label?.match(/^(\d+) %/);
  return m ? Number(m[1]) : null;
}

/** Back on the compose page, through the navigation (no reload). */
async function toCompose(p) {
  await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Send' }).click();
  await p.getByRole('heading', { level: 1, name: 'Send documents' }).waitFor();
}

test('offline mid-upload: the upload waits, then finishes by itself', async (t) => {
  const subject = 'Ledger, sent through a network cut';
  await page.getByRole('heading', { level: 1, name: 'Send documents' }).waitFor();
  await compose(page, { recipients: ['bob@example.com'], subject, files: [big] });
  await throttle(page, 12 * 1_000_000);
  await send(page);
  await page.getByRole('heading', { name: 'Uploading' }).waitFor({ timeout: SLOW });

  // Some progress, but far from done.
  await page.waitForFunction(
    () => {
      const m = document.querySelector('#upload-total-label')?.textContent?.match(/^(\d+) %/);
      return m && Number(m[1]) >= 5;
    },
    null,
    { timeout: SLOW, polling: 100 },
  );
  const before = await uploadPercent(page);
  assert.ok(before < 80, `the upload went too fast to cut it off (${before} %)`);
  await shoot(page, T, '01-uploading');
  t.diagnostic(`cut off at ${before} %`);

  await page.context().setOffline(true);
  await page.getByText('Offline — waiting for the network.').waitFor();
  await shoot(page, T, '02-offline');
  // Off the network for a while, as a train through a tunnel.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await page.getByText('Offline — waiting for the network.').count(), 1, 'the offline notice went away while offline');
  await page.context().setOffline(false);
  await throttle(page, -1);
  await page.getByText('Offline — waiting for the network.').waitFor({ state: 'detached', timeout: SLOW });

  await waitForDocStatus(page, big.name, 'Ready');
  await page.locator('.transfer-status').getByText('Sent', { exact: true }).waitFor({ timeout: SLOW });
  assert.equal(await shownHash(docCard(page, big.name), 'MD5'), big.md5, 'the MD5 shown is not the file’s');
  await shoot(page, T, '03-ready-after-offline');
  assertClean(page);
});

test('reload mid-upload, pick the file again: only the missing parts are sent', async (t) => {
  const subject = 'Ledger, resumed after a reload';
  await toCompose(page);
  await compose(page, { recipients: ['bob@example.com'], subject, files: [big] });

  // Parts 4 and 5 stall on the way, as on a connection that hangs: the reload comes while they
  // are under way, whatever the speed of this machine.
  const stalled = [];
  const lateParts = (url) => url.pathname.startsWith('/_storage/') && Number(url.searchParams.get('partNumber')) >= 4;
  await page.route(lateParts, (route) => void stalled.push(route));

  const first = watchParts(page);
  const tid = await send(page);
  // At least two parts stored, and recorded by the page for a resume.
  const recorded = async () =>
    page.evaluate(() =>
      Object.keys(localStorage)
        .filter((k) => k.startsWith('ferry.upload.'))
        .flatMap((k) => JSON.parse(localStorage.getItem(k)).parts.map((p) => p.number)),
    );
  let kept = [];
  for (const deadline = Date.now() + SLOW; ; ) {
    kept = (await recorded()).filter((n) => first.ok().includes(n));
    if (kept.length >= 2 && stalled.length > 0) break;
    assert.ok(Date.now() < deadline, `no two parts finished in time (answered: ${JSON.stringify(first.answered)})`);
    await page.waitForTimeout(50);
  }
  await shoot(page, T, '04-before-reload');
  assert.ok(first.ok().length < PARTS, `every part finished before the reload (${first.ok()})`);

  // Leaving asks first (an upload is running); the test says yes.
  page.on('dialog', (d) => void d.accept());
  await page.reload();
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.getByRole('heading', { name: 'Resume upload' }).waitFor({ timeout: SLOW });
  // What the page had recorded when it went: those seen finished, and any that ended meanwhile.
  const stored = await recorded();
  for (const n of kept) assert.ok(stored.includes(n), `part ${n} is no longer recorded after the reload`);
  assert.ok(stored.length < PARTS, `every part was stored before the reload (${stored})`);
  await shoot(page, T, '05-resume-offered');

  const second = watchParts(page);
  await page.locator('#resume-files').setInputFiles(big.path);
  await waitForDocStatus(page, big.name, 'Ready');
  await page.locator('.transfer-status').getByText('Sent', { exact: true }).waitFor({ timeout: SLOW });

  const again = second.requested.filter((n) => stored.includes(n));
  assert.deepEqual(again, [], `parts stored before the reload were sent again: ${again}`);
  assert.ok(second.requested.length < PARTS, `the resumed upload sent ${second.requested.length} parts`);
  const missing = [...Array(PARTS).keys()].map((i) => i + 1).filter((n) => !stored.includes(n));
  for (const n of missing) assert.ok(second.ok().includes(n), `part ${n} was not sent after the reload`);
  assert.equal(await shownHash(docCard(page, big.name), 'MD5'), big.md5, 'the MD5 shown is not the file’s');
  assert.equal(page.url(), `${ferry.url}/transfers/${tid}`);
  t.diagnostic(`parts stored before the reload: ${stored.sort()}; sent after it: ${second.requested.sort()}`);
  await shoot(page, T, '06-ready-after-resume');
  assertClean(page);
});
