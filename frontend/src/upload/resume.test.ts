import { describe, expect, it } from 'vitest';
import {
  MemoryStorage,
  RESUME_MAX_AGE_MS,
  ResumeStore,
  fileFingerprint,
  hashesFromResumeEntry,
  type ResumeEntryStart,
} from './resume';
import { FakeApi, FakeOnline, FakeStorage, etagFor, partNumberOf } from './test-fakes';
import { TRANSFER_ID, fileOf, multipartItem, singleItem } from './test-items';
import type { UploadItem } from './types';
import { uploadDocuments, type UploadOptions } from './uploader';

const DAY = 24 * 60 * 60 * 1000;

const start: ResumeEntryStart = {
  transferId: 't-1',
  documentId: 'd-1',
  fingerprint: { name: 'report.pdf', size: 40_000_000, lastModified: 1_700_000_000_000 },
  md5: 'kAFQmDzST7DWlj99KOF/cg==',
  partSize: 16_777_216,
};

describe('ResumeStore', () => {
  it('records each finished part at once, in order', () => {
    const storage = new MemoryStorage();
    const store = new ResumeStore(storage, { now: () => 5_000 });
    store.start(start);
    store.recordPart(start, { number: 2, etag: '"b"' });
    store.recordPart(start, { number: 1, etag: '"a"' });

    // Another store over the same storage: what a reloaded page sees.
    const entry = new ResumeStore(storage, { now: () => 6_000 }).get('d-1');
    expect(entry).toEqual({
      ...start,
      parts: [
        { number: 1, etag: '"a"' },
        { number: 2, etag: '"b"' },
      ],
      updatedAt: 5_000,
    });
    expect(storage.length).toBe(1);
  });

  it('keeps matching parts when an upload starts again, and drops them for another file', () => {
    const store = new ResumeStore(new MemoryStorage());
    store.recordPart(start, { number: 1, etag: '"a"' });
    expect(store.start(start).parts).toEqual([{ number: 1, etag: '"a"' }]);

    const otherFile = { ...start, fingerprint: { ...start.fingerprint, lastModified: 1 } };
    expect(store.find(otherFile)).toBeNull();
    expect(store.start(otherFile).parts).toEqual([]);
    expect(store.get('d-1')?.fingerprint.lastModified).toBe(1);
  });

  it('finds an entry only for the same transfer, file, MD5 and part size', () => {
    const store = new ResumeStore(new MemoryStorage());
    store.recordPart(start, { number: 1, etag: '"a"' });
    expect(store.find(start)?.parts).toHaveLength(1);
    expect(store.find({ ...start, transferId: 't-2' })).toBeNull();
    expect(store.find({ ...start, md5: '1B2M2Y8AsgTpgAmY7PhCfg==' })).toBeNull();
    expect(store.find({ ...start, partSize: 8 })).toBeNull();
    expect(store.find({ ...start, fingerprint: { ...start.fingerprint, name: 'other.pdf' } })).toBeNull();
    expect(store.find({ ...start, fingerprint: { ...start.fingerprint, size: 1 } })).toBeNull();
  });

  it('clears an entry', () => {
    const store = new ResumeStore(new MemoryStorage());
    store.start(start);
    store.clear('d-1');
    expect(store.get('d-1')).toBeNull();
    expect(store.list()).toEqual([]);
  });

  it('prunes entries older than eight days, and unreadable ones', () => {
    const storage = new MemoryStorage();
    let now = 0;
    const store = new ResumeStore(storage, { now: () => now });
    store.start(start);
    now = 1 * DAY;
    store.start({ ...start, documentId: 'd-2' });
    storage.setItem('ferry.upload.d-3', '{not json');
    storage.setItem('unrelated', 'kept');

    now = RESUME_MAX_AGE_MS + 1;
    expect(store.get('d-1')).toBeNull(); // too old to use even before pruning
    expect(store.prune()).toBe(2);
    expect(storage.getItem('ferry.upload.d-1')).toBeNull();
    expect(storage.getItem('ferry.upload.d-3')).toBeNull();
    expect(store.get('d-2')?.documentId).toBe('d-2');
    expect(storage.getItem('unrelated')).toBe('kept');
    expect(RESUME_MAX_AGE_MS).toBe(8 * DAY);
  });

  it('lists entries by transfer and finds them by file', () => {
    const store = new ResumeStore(new MemoryStorage());
    store.start(start);
    store.start({ ...start, documentId: 'd-2', transferId: 't-2' });
    expect(store.list('t-1').map((entry) => entry.documentId)).toEqual(['d-1']);
    expect(store.list().map((entry) => entry.documentId).sort()).toEqual(['d-1', 'd-2']);

    const file = new File([new Uint8Array(3)], 'a.pdf', { lastModified: 42 });
    store.start({ ...start, documentId: 'd-3', fingerprint: fileFingerprint(file) });
    expect(store.findByFile(file).map((entry) => entry.documentId)).toEqual(['d-3']);
    expect(hashesFromResumeEntry(store.get('d-3')!)).toEqual({ md5: start.md5, partSize: start.partSize, partMd5s: [] });
  });

  it('never throws when the storage does', () => {
    const broken: Storage = {
      length: 1,
      clear: () => {},
      key: () => {
        throw new Error('denied');
      },
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    const store = new ResumeStore(broken);
    expect(() => store.start(start)).not.toThrow();
    expect(() => store.recordPart(start, { number: 1, etag: '"a"' })).not.toThrow();
    expect(store.get('d-1')).toBeNull();
    expect(store.list()).toEqual([]);
    expect(store.prune()).toBe(0);
    expect(() => store.clear('d-1')).not.toThrow();
  });
});

describe('resuming an upload', () => {
  function options(
    storage: FakeStorage,
    api: FakeApi,
    resume: ResumeStore,
    signal?: AbortSignal,
    concurrency = 2,
  ): UploadOptions {
    return {
      api,
      transport: storage,
      resume,
      concurrency,
      onProgress: () => {},
      online: new FakeOnline(),
      retryPolicy: { baseDelayMs: 1, maxDelayMs: 2 },
      progressIntervalMs: 0,
      ...(signal ? { signal } : {}),
    };
  }

  /** A first visit that stores parts 1 and 2, then the page goes away. */
  async function firstVisit(item: UploadItem, resume: ResumeStore) {
    const storage = new FakeStorage();
    const controller = new AbortController();
    storage.handler = (put) => {
      const number = partNumberOf(put.url);
      if (number <= 2) return { status: 200, etag: etagFor(put.url) };
      controller.abort();
      return new Promise(() => {});
    };
    // One part at a time, so exactly parts 1 and 2 are stored when part 3 starts.
    const files = await uploadDocuments([item], options(storage, new FakeApi(), resume, controller.signal, 1));
    expect(files[0]?.state).toBe('cancelled');
    return storage;
  }

  it('skips the parts stored before the reload and completes with their ETags', async () => {
    const storageArea = new MemoryStorage();
    const item = await multipartItem('doc', 5_500, 1_000);
    await firstVisit(item, new ResumeStore(storageArea));
    expect(new ResumeStore(storageArea).get('doc')?.parts.map((part) => part.number)).toEqual([1, 2]);

    // The reload: same file chosen again, hashes taken from the entry instead of a second read
    // (each remaining part is then hashed just before it is sent).
    const resume = new ResumeStore(storageArea);
    const entry = resume.findByFile(item.file, TRANSFER_ID)[0]!;
    const storage = new FakeStorage();
    const api = new FakeApi();
    const reports: number[] = [];
    const [file] = await uploadDocuments([{ ...item, hashes: hashesFromResumeEntry(entry) }], {
      ...options(storage, api, resume),
      onProgress: (progress) => reports.push(progress.sentBytes),
    });

    expect(file).toMatchObject({ state: 'done', sentBytes: 5_500 });
    expect(storage.partsSent('doc').sort()).toEqual([3, 4, 5, 6]);
    expect(api.signedNumbers('doc').sort()).toEqual([3, 4, 5, 6]);
    expect(reports[0]).toBe(2_000); // the stored parts count as sent from the start
    const complete = api.completeCalls[0]!;
    expect(complete.parts.map((part) => part.number)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(complete.parts[0]?.etag).toBe(etagFor(`https://storage.test/${TRANSFER_ID}/doc/1`));
    expect(complete.md5).toBe(item.hashes.md5);
    expect(resume.get('doc')).toBeNull(); // cleared on completion
    expect(storageArea.length).toBe(0);
  });

  it('completes at once when every part was stored before the reload', async () => {
    const storageArea = new MemoryStorage();
    const item = await multipartItem('doc', 2_000, 1_000);
    const resume = new ResumeStore(storageArea);
    const key = {
      transferId: TRANSFER_ID,
      documentId: 'doc',
      fingerprint: fileFingerprint(item.file),
      md5: item.hashes.md5,
      partSize: 1_000,
    };
    resume.recordPart(key, { number: 1, etag: '"one"' });
    resume.recordPart(key, { number: 2, etag: '"two"' });
    const storage = new FakeStorage();
    const api = new FakeApi();
    const [file] = await uploadDocuments([item], options(storage, api, resume));

    expect(file?.state).toBe('done');
    expect(storage.puts).toHaveLength(0);
    expect(api.completeCalls[0]?.parts).toEqual([
      { number: 1, etag: '"one"' },
      { number: 2, etag: '"two"' },
    ]);
  });

  it('ignores an entry made for a different file', async () => {
    const storageArea = new MemoryStorage();
    const item = await multipartItem('doc', 4_000, 1_000);
    await firstVisit(item, new ResumeStore(storageArea));

    // Same name and bytes, but modified since: the stored parts may not be its parts.
    const touched = fileOf('doc', new Uint8Array(await item.file.arrayBuffer()), 1_800_000_000_000);
    const storage = new FakeStorage();
    const api = new FakeApi();
    const resume = new ResumeStore(storageArea);
    const [file] = await uploadDocuments([{ ...item, file: touched }], options(storage, api, resume));

    expect(file?.state).toBe('done');
    expect(storage.partsSent('doc').sort()).toEqual([1, 2, 3, 4]);
    expect(resume.get('doc')).toBeNull();
  });

  it('sends a single-PUT file again, and takes 412 as already stored', async () => {
    const storageArea = new MemoryStorage();
    const item = await singleItem('small', 900);
    const resume = new ResumeStore(storageArea);
    const controller = new AbortController();
    const first = new FakeStorage();
    first.handler = () => {
      controller.abort(); // the page goes away while the PUT is in flight
      return new Promise(() => {});
    };
    await uploadDocuments([item], options(first, new FakeApi(), resume, controller.signal));
    expect(resume.list(TRANSFER_ID).map((entry) => [entry.documentId, entry.partSize])).toEqual([['small', 0]]);

    const second = new FakeStorage();
    second.handler = () => ({ status: 412, etag: null });
    const [file] = await uploadDocuments([item], options(second, new FakeApi(), resume));
    expect(file?.state).toBe('done');
    expect(second.puts).toHaveLength(1);
    expect(resume.list()).toEqual([]);
  });

  it('gives up on remembered parts storage no longer has', async () => {
    const storageArea = new MemoryStorage();
    const item = await multipartItem('doc', 3_000, 1_000);
    await firstVisit(item, new ResumeStore(storageArea));
    const api = new FakeApi();
    api.completeFailure = () => Object.assign(new Error('parts missing'), { status: 400 });
    const resume = new ResumeStore(storageArea);
    const [file] = await uploadDocuments([item], options(new FakeStorage(), api, resume));

    expect(file?.state).toBe('failed');
    expect(file?.error).toMatch(/no longer in storage/);
    expect(resume.get('doc')).toBeNull(); // the next try sends everything
  });
});

