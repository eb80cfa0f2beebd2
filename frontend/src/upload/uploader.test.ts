/// <reference types="node" />
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { TransportNetworkError } from './errors';
import { FakeApi, FakeOnline, FakeStorage, HttpError, etagFor, partNumberOf } from './test-fakes';
import { multipartItem, singleItem } from './test-items';
import type { UploadItem, UploadProgress } from './types';
import { uploadDocuments, type UploadOptions } from './uploader';

const md5Base64 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');

const fastRetries = { baseDelayMs: 1, maxDelayMs: 4, networkWaitMaxMs: 20 };

function setup(overrides: Partial<UploadOptions> = {}) {
  const api = new FakeApi();
  const storage = new FakeStorage();
  const reports: UploadProgress[] = [];
  const options: UploadOptions = {
    api,
    transport: storage,
    concurrency: 3,
    onProgress: (progress) => reports.push(progress),
    online: new FakeOnline(),
    retryPolicy: fastRetries,
    progressIntervalMs: 0,
    ...overrides,
  };
  return { api, storage, reports, options };
}

async function bytesOfItem(item: UploadItem): Promise<Uint8Array> {
  return new Uint8Array(await item.file.arrayBuffer());
}

describe('uploadDocuments', () => {
  it('sends every part once with its signed headers and completes with ascending ETags', async () => {
    const { api, storage, options } = setup();
    const large = await multipartItem('doc-large', 10_500, 1_000);
    const small = await singleItem('doc-small', 700);
    const files = await uploadDocuments([large, small], options);

    expect(files.map((file) => [file.documentId, file.state, file.sentBytes])).toEqual([
      ['doc-large', 'done', 10_500],
      ['doc-small', 'done', 700],
    ]);
    expect(storage.partsSent('doc-large').sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    const data = await bytesOfItem(large);
    for (const put of storage.puts.filter((p) => p.url.includes('/doc-large/'))) {
      const number = partNumberOf(put.url);
      const expected = data.subarray((number - 1) * 1_000, Math.min(number * 1_000, data.length));
      expect(put.body).toEqual(expected);
      expect(put.headers).toEqual({ 'Content-MD5': md5Base64(expected), 'x-amz-test': 'signed' });
    }
    const single = storage.puts.find((p) => p.url.includes('/doc-small/'));
    expect(single?.body).toEqual(await bytesOfItem(small));
    expect(single?.headers).toEqual({ 'Content-MD5': small.hashes.md5, 'Content-Type': 'application/pdf' });

    expect(api.completeCalls).toHaveLength(1);
    const [complete] = api.completeCalls;
    expect(complete?.documentId).toBe('doc-large');
    expect(complete?.md5).toBe(md5Base64(data));
    expect(complete?.parts.map((part) => part.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    for (const part of complete?.parts ?? []) {
      const put = storage.puts.find((p) => p.url.includes('/doc-large/') && partNumberOf(p.url) === part.number);
      expect(part.etag).toBe(etagFor(put!.url));
    }
    // Signed a few at a time, never more than once per part here.
    expect(api.signedNumbers('doc-large').sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(Math.max(...api.signCalls.map((call) => call.parts.length))).toBeLessThanOrEqual(6);
  });

  it('completes with ascending parts even when they finish out of order', async () => {
    const { api, storage, options } = setup({ concurrency: 4 });
    storage.handler = async (put) => {
      await new Promise((resolve) => setTimeout(resolve, (8 - partNumberOf(put.url)) * 3));
      return { status: 200, etag: etagFor(put.url) };
    };
    await uploadDocuments([await multipartItem('doc', 7_000, 1_000)], options);
    expect(api.completeCalls[0]?.parts).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((number) => ({
        number,
        etag: etagFor(`https://storage.test/t/doc/${number}`),
      })),
    );
  });

  it('never has more requests in flight than the concurrency, across all files', async () => {
    for (const concurrency of [1, 3]) {
      const { storage, options } = setup({ concurrency });
      storage.delayMs = 3;
      const items = [
        await multipartItem('a', 5_000, 1_000, { seed: 1 }),
        await multipartItem('b', 4_500, 1_000, { seed: 2 }),
        await singleItem('c', 300),
        await multipartItem('d', 3_000, 1_000, { seed: 3 }),
        await singleItem('e', 200),
      ];
      const files = await uploadDocuments(items, options);
      expect(files.every((file) => file.state === 'done')).toBe(true);
      expect(storage.maxInFlight).toBe(concurrency);
      expect(storage.puts).toHaveLength(5 + 5 + 1 + 3 + 1);
    }
  });

  it('signs a part again when storage refuses its URL with 403', async () => {
    const { api, storage, options } = setup();
    let refused = false;
    storage.handler = (put) => {
      if (partNumberOf(put.url) === 2 && !refused) {
        refused = true;
        return { status: 403, etag: null };
      }
      return { status: 200, etag: etagFor(put.url) };
    };
    const [file] = await uploadDocuments([await multipartItem('doc', 3_000, 1_000)], options);

    expect(file?.state).toBe('done');
    const part2 = storage.puts.filter((put) => partNumberOf(put.url) === 2).map((put) => put.url);
    expect(part2).toHaveLength(2);
    expect(part2[0]).not.toBe(part2[1]); // a new signature
    expect(api.signedNumbers('doc').filter((n) => n === 2)).toHaveLength(2);
  });

  it('fails the file in words when a freshly signed URL is refused too', async () => {
    const { storage, options } = setup();
    storage.handler = (put) =>
      partNumberOf(put.url) === 2 ? { status: 403, etag: null } : { status: 200, etag: etagFor(put.url) };
    const [file] = await uploadDocuments([await multipartItem('doc', 3_000, 1_000)], options);

    expect(file?.state).toBe('failed');
    expect(file?.error).toBe('The storage refused this part: the upload link expired and could not be renewed.');
    expect(storage.puts.filter((put) => partNumberOf(put.url) === 2)).toHaveLength(2);
  });

  it('retries a part that fails twice, and takes back the bytes of failed attempts', async () => {
    const { api, storage, reports, options } = setup();
    let failures = 0;
    storage.handler = (put) => {
      if (partNumberOf(put.url) === 2 && failures < 2) {
        failures += 1;
        return { status: failures === 1 ? 500 : 503, etag: null };
      }
      return { status: 200, etag: etagFor(put.url) };
    };
    const [file] = await uploadDocuments([await multipartItem('doc', 3_000, 1_000)], options);

    expect(file).toMatchObject({ state: 'done', sentBytes: 3_000, totalBytes: 3_000 });
    expect(storage.puts.filter((put) => partNumberOf(put.url) === 2)).toHaveLength(3);
    expect(api.completeCalls).toHaveLength(1);
    expect(Math.max(...reports.map((report) => report.sentBytes))).toBe(3_000);
    // While part 2 failed, half of it had been counted, then taken back.
    const sent = reports.map((report) => report.sentBytes);
    expect(sent.some((bytes, i) => i > 0 && bytes < sent[i - 1]!)).toBe(true);
  });

  it('does not retry a part storage refuses with 400', async () => {
    const { api, storage, options } = setup();
    storage.handler = (put) =>
      partNumberOf(put.url) === 1 ? { status: 400, etag: null } : { status: 200, etag: etagFor(put.url) };
    const [file] = await uploadDocuments([await multipartItem('doc', 3_000, 1_000)], options);

    expect(file?.state).toBe('failed');
    expect(file?.error).toMatch(/^The storage refused this part: its content differs from the checksum/);
    expect(storage.puts.filter((put) => partNumberOf(put.url) === 1)).toHaveLength(1);
    expect(api.completeCalls).toHaveLength(0);
  });

  it('fails in words when storage hides the ETag', async () => {
    const { storage, options } = setup();
    storage.handler = () => ({ status: 200, etag: null });
    const [file] = await uploadDocuments([await multipartItem('doc', 2_000, 1_000)], options);
    expect(file?.state).toBe('failed');
    expect(file?.error).toMatch(/ETag/);
  });

  it('cancels: aborts the requests in flight and leaves the files cancelled', async () => {
    const controller = new AbortController();
    const { api, storage, options } = setup({ signal: controller.signal, concurrency: 3 });
    storage.handler = () => new Promise(() => {}); // storage never answers
    const items = [await multipartItem('a', 5_000, 1_000), await singleItem('b', 100)];
    const uploading = uploadDocuments(items, options);
    await vi.waitFor(() => expect(storage.inFlight).toBe(3));
    controller.abort();
    const files = await uploading;

    expect(storage.aborted).toBe(3);
    expect(storage.inFlight).toBe(0);
    expect(files.map((file) => file.state)).toEqual(['cancelled', 'cancelled']);
    expect(storage.puts).toHaveLength(3); // nothing started after the cancel
    expect(api.completeCalls).toHaveLength(0);
  });

  it('reports totals that add up, and ends at the full size', async () => {
    const { reports, options } = setup();
    const items = [await multipartItem('a', 4_321, 1_000), await singleItem('b', 555), await singleItem('c', 1)];
    await uploadDocuments(items, options);

    expect(reports.length).toBeGreaterThan(3);
    for (const report of reports) {
      expect(report.sentBytes).toBe(report.files.reduce((sum, file) => sum + file.sentBytes, 0));
      expect(report.totalBytes).toBe(4_321 + 555 + 1);
      expect(report.sentBytes).toBeLessThanOrEqual(report.totalBytes);
      for (const file of report.files) expect(file.sentBytes).toBeLessThanOrEqual(file.totalBytes);
    }
    const last = reports.at(-1)!;
    expect(last.sentBytes).toBe(last.totalBytes);
    expect(last.secondsLeft).toBe(0);
    expect(last.files.map((file) => file.state)).toEqual(['done', 'done', 'done']);
    expect(reports[0]?.files.map((file) => file.state)).toEqual(['queued', 'queued', 'queued']);
    expect(reports.some((report) => report.files[0]?.state === 'completing')).toBe(true);
  });

  it('counts a 412 answer to a single PUT as done', async () => {
    const { storage, options } = setup();
    storage.handler = () => ({ status: 412, etag: null });
    const [file] = await uploadDocuments([await singleItem('doc', 500)], options);
    expect(file).toMatchObject({ state: 'done', sentBytes: 500 });
    expect(storage.puts).toHaveLength(1);
  });

  it('takes a 409 from complete as already received', async () => {
    const { api, options } = setup();
    api.completeFailure = () => new HttpError(409);
    const [file] = await uploadDocuments([await multipartItem('doc', 2_000, 1_000)], options);
    expect(file?.state).toBe('done');
  });

  it('explains an ended transfer', async () => {
    const { api, options } = setup();
    api.completeFailure = () => new HttpError(410);
    const [file] = await uploadDocuments([await multipartItem('doc', 2_000, 1_000)], options);
    expect(file).toMatchObject({ state: 'failed', error: 'This transfer has ended: its files can no longer be uploaded.' });
  });

  it('hashes each part before sending it when the plan cuts the file differently', async () => {
    const hashed: number[] = [];
    const { api, storage, options } = setup({
      hashPart: async (part) => {
        hashed.push(part.size);
        return md5Base64(new Uint8Array(await part.arrayBuffer()));
      },
    });
    // Hashed for 16 MiB parts, planned in parts of 1000 bytes.
    const item = await multipartItem('doc', 2_500, 1_000, { hashPartSize: 16 * 1024 * 1024 });
    const [file] = await uploadDocuments([item], options);

    expect(file?.state).toBe('done');
    expect(hashed.sort()).toEqual([1_000, 1_000, 500]);
    const data = await bytesOfItem(item);
    const signedMd5s = api.signCalls.flatMap((call) => call.parts).sort((a, b) => a.number - b.number);
    expect(signedMd5s.map((part) => part.md5)).toEqual([
      md5Base64(data.subarray(0, 1_000)),
      md5Base64(data.subarray(1_000, 2_000)),
      md5Base64(data.subarray(2_000)),
    ]);
    for (const put of storage.puts) expect(put.headers['Content-MD5']).toBe(md5Base64(put.body));
  });

  it('refuses a file whose size does not fit the plan', async () => {
    const { storage, options } = setup();
    const item = await multipartItem('doc', 2_500, 1_000);
    const [file] = await uploadDocuments([{ ...item, plan: { ...item.plan, part_count: 4 } }], options);
    expect(file?.state).toBe('failed');
    expect(file?.error).toMatch(/size differs/);
    expect(storage.puts).toHaveLength(0);
  });

  it('survives a network drop: waits offline, then goes on by itself', async () => {
    const online = new FakeOnline(true);
    const { storage, reports, options } = setup({ online, concurrency: 2 });
    let sentWhileOnline = 0;
    storage.handler = (put) => {
      if (!online.isOnline()) throw new TransportNetworkError('no answer');
      sentWhileOnline += 1;
      if (sentWhileOnline === 2) online.set(false); // the network drops after the second part
      return { status: 200, etag: etagFor(put.url) };
    };
    const uploading = uploadDocuments([await multipartItem('doc', 6_000, 1_000)], {
      ...options,
      // Many more network failures than attempts would allow.
      retryPolicy: { ...fastRetries, maxAttempts: 2 },
    });
    await vi.waitFor(() => expect(reports.at(-1)?.offline).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reports.at(-1)?.offline).toBe(true);
    online.set(true);
    const [file] = await uploading;

    expect(file?.state).toBe('done');
    expect(reports.at(-1)?.offline).toBe(false);
    const uniqueParts = new Set(storage.partsSent('doc'));
    expect(uniqueParts.size).toBe(6);
  });
});
