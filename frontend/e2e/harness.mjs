// What every end-to-end test needs: a fresh ferry-local on a free port, Debian's Chromium driven
// by playwright-core, the mail outbox, sign-in, test files and screenshots under e2e-output/.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
export const OUTPUT = resolve(here, '../e2e-output');

export const ADMIN = { email: 'admin@example.org', password: 'admin password 42', name: 'Administrator' };

/** Generous waits: the CI machine has two cores and runs Rust, Chromium and Node at once. */
export const SLOW = 90_000;

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

const scratch = [];

/** A fresh ferry-local serving the built portal; `stop()` ends it and removes its data. */
export async function startFerry() {
  const bin = process.env.FERRY_LOCAL_BIN ?? join(repo, 'target/debug/ferry-local');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-e2e-'));
  const child = spawn(
    bin,
    [
      '--listen', `127.0.0.1:${port}`,
      '--public-url', url,
      '--data-dir', dataDir,
      '--web-dir', join(repo, 'frontend/dist'),
      '--sweep-seconds', '3600',
    ],
    {
      env: {
        ...process.env,
        FERRY_ADMIN_EMAIL: ADMIN.email,
        FERRY_ADMIN_PASSWORD: ADMIN.password,
        FERRY_LOG: process.env.FERRY_E2E_LOG ?? 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise((ok) => child.once('exit', ok));
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/api/v1/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || i > 300) throw new Error(`ferry-local did not start (${bin})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
      for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless; the flags keep it off the network but for 127.0.0.1. */
export async function startBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

// A request the test provokes (a wrong password, an expired link, a part cut by going offline)
// shows in the console as a failed resource load; that is expected. Anything else is not.
const EXPECTED_CONSOLE = [/^Failed to load resource/];

/**
 * A page of its own (cookies, storage), as a second person on another computer would have.
 * `page.problems` collects uncaught errors and unexpected console errors; `assertClean(page)`
 * fails the test on any.
 */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.stack ?? e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !EXPECTED_CONSOLE.some((re) => re.test(m.text()))) {
      problems.push(`console error: ${m.text()} (${m.location().url})`);
    }
  });
  page.problems = problems;
  return { context, page };
}

/** No uncaught error and no unexpected console error on any of the pages. */
export function assertClean(...pages) {
  const all = pages.flatMap((p) => p.problems ?? []);
  assert.deepEqual(all, [], `the page reported errors:\n${all.join('\n')}`);
}

/**
 * Tests that build on each other (one person's steps): once one fails, the later ones are
 * skipped instead of each waiting out its timeouts.
 */
export function steps() {
  let failed = null;
  return (name, fn) =>
    test(name, async (t) => {
      if (failed) {
        t.skip(`"${failed}" failed`);
        return;
      }
      try {
        await fn(t);
      } catch (e) {
        failed = name;
        throw e;
      }
    });
}

/** Saves a screenshot as e2e-output/{test}/{name}.png. */
export async function shoot(page, test, name) {
  const dir = join(OUTPUT, test);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true, animations: 'disabled' });
}

/** Polls `check` until it returns a truthy value (which is returned) or the time is up. */
export async function eventually(check, { timeoutMs = SLOW, intervalMs = 200, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${message}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---- mail --------------------------------------------------------------------------------------

export async function mails(ferry) {
  return (await fetch(`${ferry.url}/_dev/mail.json`)).json();
}

/**
 * The newest email to `to` whose subject starts with `prefix` (and contains `contains`), that
 * is not among `seen` (names of mails read before); the raw message comes with it.
 */
export async function waitForMail(ferry, to, prefix, { contains = '', seen = [], timeoutMs = 30_000 } = {}) {
  const found = await eventually(
    async () =>
      (await mails(ferry)).find(
        (m) => m.to.includes(to) && m.subject.startsWith(prefix) && m.subject.includes(contains) && !seen.includes(m.name),
      ),
    { timeoutMs, intervalMs: 250, message: `a mail "${prefix}…${contains}" to ${to}` },
  );
  const raw = await (await fetch(`${ferry.url}/_dev/mail/${found.name}`)).text();
  return { ...found, raw };
}

/** The access link (`/r/{token}`) emailed to `to` for the transfer with this subject. */
export async function accessLink(ferry, to, subject) {
  const mail = await waitForMail(ferry, to, 'Documents from', { contains: subject });
  // Quoted-printable: soft line breaks first, then the 43-character token.
  const match = mail.raw.replace(/=\r?\n/g, '').match(/\/r\/[A-Za-z0-9_-]{43}/);
  assert.ok(match, `no access link in the mail to ${to}`);
  return match[0];
}

/** Names of the code emails already in the outbox for `to`, to tell the next one apart. */
export async function codeMailsSoFar(ferry, to) {
  return (await mails(ferry)).filter((m) => m.to.includes(to) && m.subject.startsWith('Your Ferry code')).map((m) => m.name);
}

/** The 6-digit code of the first code email to `to` not in `seen`. */
export async function accessCode(ferry, to, seen = []) {
  const mail = await waitForMail(ferry, to, 'Your Ferry code', { seen });
  const code = mail.subject.match(/\b\d{6}\b/);
  assert.ok(code, `no code in "${mail.subject}"`);
  return code[0];
}

// ---- people ------------------------------------------------------------------------------------

/** Signs in through the portal's OIDC login form and waits for the signed-in header. */
export async function signIn(page, ferry, { email, password }, start = '/') {
  await page.goto(`${ferry.url}${start}`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('.user-name').waitFor({ timeout: SLOW });
  await page.getByRole('heading', { level: 1 }).waitFor();
}

/** Adds a user on /admin/users as the signed-in admin on `page`; waits for their row. */
export async function addUser(page, ferry, { email, name, password, roles = ['member'] }) {
  if (!page.url().endsWith('/admin/users')) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  }
  await page.getByRole('heading', { name: 'All users' }).waitFor();
  const form = page.locator('details.disclosure', { has: page.locator('summary', { hasText: 'Add a user' }) });
  if (!(await form.evaluate((d) => d.open))) await form.locator('summary').click();
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Name').fill(name);
  for (const [role, label] of [['member', 'Member'], ['admin', 'Administrator']]) {
    const box = form.getByRole('checkbox', { name: label });
    if ((await box.isChecked()) !== roles.includes(role)) await box.click();
  }
  await form.getByLabel('Initial password').fill(password);
  await form.getByRole('button', { name: 'Add user' }).click();
  await userRow(page, email).waitFor();
}

/** The row of a user in the admin's table. */
export function userRow(page, email) {
  return page.locator('table tbody tr', { has: page.getByRole('cell', { name: email, exact: true }) });
}

// ---- sending -----------------------------------------------------------------------------------

/** Fills the compose form: recipients as chips, subject, message, expiry label, files. */
export async function compose(page, { recipients, subject, message, expiry, files }) {
  const to = page.getByRole('textbox', { name: 'Recipients' });
  await to.waitFor();
  for (const r of recipients) {
    await to.fill(r);
    await to.press('Enter');
    await page.getByRole('list', { name: 'Recipients added' }).getByText(r, { exact: true }).waitFor();
  }
  await page.getByLabel('Subject').fill(subject);
  if (message !== undefined) await page.getByLabel('Message').fill(message);
  if (expiry !== undefined) await page.getByLabel('Available for').selectOption({ label: expiry });
  await page.locator('#send-files').setInputFiles(files.map((f) => f.path));
  const list = page.getByRole('list', { name: 'Files to send' });
  for (const f of files) await list.getByText(f.name, { exact: true }).waitFor();
}

/** Clicks Send and waits for the transfer's page; returns its id. */
export async function send(page) {
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForURL(/\/transfers\/[0-9a-f-]{36}$/, { timeout: SLOW });
  return page.url().split('/').pop();
}

/** A document's card (on the sender's or the recipient's page), found by its name. */
export function docCard(page, name) {
  return page.locator('article.doc', { has: page.getByRole('heading', { level: 3, name, exact: true }) });
}

/** Waits until the card's status badge reads `label` (Ready, Rejected…). */
export async function waitForDocStatus(page, name, label, timeout = SLOW) {
  await docCard(page, name).locator('.doc-head').getByText(label, { exact: true }).waitFor({ timeout });
}

/** The shown checksum (MD5 or SHA-256) of a card, as text. */
export async function shownHash(card, label) {
  return (await card.locator('.copy-value', { has: card.page().locator('dt', { hasText: label }) }).locator('code').textContent()).trim();
}

/** Sets the CDP network conditions of a page (upload in bytes per second, -1 unlimited). */
export async function throttle(page, uploadBytesPerSecond, { latency = 10 } = {}) {
  const cdp = page.cdp ?? (page.cdp = await page.context().newCDPSession(page));
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: uploadBytesPerSecond === -1 ? 0 : latency,
    downloadThroughput: -1,
    uploadThroughput: uploadBytesPerSecond,
  });
}

/** Nothing wider than the viewport: the page does not scroll sideways. */
export async function assertNoHorizontalScroll(page, where) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `${where}: the page scrolls sideways (${scroll}px content in ${client}px)`);
}

// ---- files -------------------------------------------------------------------------------------

function scratchDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-e2e-files-'));
  scratch.push(dir);
  return dir;
}

/** A file of `size` bytes on disk; `kind` text gives lines of words, random gives noise. */
export async function makeFile(name, size, kind = 'text') {
  const path = join(scratchDir(), name);
  const md5 = createHash('md5');
  const out = createWriteStream(path);
  const line = 'Quarterly figures: revenue up 12 percent, costs down 3 percent.\n';
  let written = 0;
  while (written < size) {
    const n = Math.min(1 << 20, size - written);
    const chunk =
      kind === 'text'
        ? Buffer.from(line.repeat(Math.ceil(n / line.length) + 1).slice(0, n))
        : randomBytes(n);
    md5.update(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
    written += n;
  }
  await new Promise((ok, fail) => out.end((e) => (e ? fail(e) : ok())));
  return { path, name, size, md5: md5.digest('hex') };
}

/** A small file with given bytes, with its MD5 and SHA-256 in hex. */
export function writeBytes(name, bytes) {
  const path = join(scratchDir(), name);
  const buffer = Buffer.from(bytes);
  writeFileSync(path, buffer);
  return {
    path,
    name,
    size: buffer.length,
    md5: createHash('md5').update(buffer).digest('hex'),
    sha256: createHash('sha256').update(buffer).digest('hex'),
  };
}

/** A size as the portal shows it: decimal units, one decimal below 10 ("1.5 MB", "49 B"). */
export function formatBytes(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (unit < units.length - 1 && Math.round(value) >= 1000) {
    value /= 1000;
    unit += 1;
  }
  const tenths = Math.round(value * 10) / 10;
  return `${value < 10 && tenths < 10 ? tenths : Math.round(value)} ${units[unit]}`;
}

/**
 * A small, valid PDF with a text layer: one page per entry of `pages`, each a list of lines in
 * Helvetica, with a correct cross-reference table.
 */
export function makePdf(pages) {
  const escape = (s) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const objects = [];
  const fontId = 3 + 2 * pages.length;
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pages.map((_, i) => `${3 + 2 * i} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  pages.forEach((lines, i) => {
    const text = lines.map((l) => `(${escape(l)}) Tj`).join(' T* ');
    const stream = `BT /F1 14 Tf 18 TL 72 720 Td ${text} ET`;
    objects[3 + 2 * i] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${4 + 2 * i} 0 R ` +
      `/Resources << /Font << /F1 ${fontId} 0 R >> >> >>`;
    objects[4 + 2 * i] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  });
  objects[fontId] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  let out = '%PDF-1.4\n';
  const offsets = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = out.length;
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = out.length;
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
