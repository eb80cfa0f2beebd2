/// <reference types="node" />
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerHashRequest, type HashRequest, type HashResponse } from './hash-protocol';
import { base64OfBytes, hashBlob, md5OfBlob } from './hashing';
import { EXPECTED_PART_SIZE } from './plan';
import { hashFileInWorker } from './worker-hashing';

const MiB = 1024 * 1024;

const md5Base64 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');

describe('hashBlob', () => {
  it('gives the base64 MD5 of known vectors', async () => {
    expect((await hashBlob(new Blob([]), EXPECTED_PART_SIZE)).md5).toBe('1B2M2Y8AsgTpgAmY7PhCfg==');
    expect((await hashBlob(new Blob(['abc']), EXPECTED_PART_SIZE)).md5).toBe('kAFQmDzST7DWlj99KOF/cg==');
    expect(await md5OfBlob(new Blob(['abc']))).toBe('kAFQmDzST7DWlj99KOF/cg==');
  });

  it('has no part digests for a file that fits in one part', async () => {
    const hashes = await hashBlob(new Blob(['abc']), EXPECTED_PART_SIZE);
    expect(hashes).toEqual({ md5: 'kAFQmDzST7DWlj99KOF/cg==', partSize: EXPECTED_PART_SIZE, partMd5s: [] });
  });

  it('hashes 40 MiB + 3 bytes and each 16 MiB part like node:crypto', async () => {
    const data = new Uint8Array(randomBytes(40 * MiB + 3));
    const progress: number[] = [];
    const hashes = await hashBlob(new Blob([data]), EXPECTED_PART_SIZE, (bytes) => progress.push(bytes));

    expect(hashes.md5).toBe(md5Base64(data));
    expect(hashes.partSize).toBe(16 * MiB);
    expect(hashes.partMd5s).toEqual([
      md5Base64(data.subarray(0, 16 * MiB)),
      md5Base64(data.subarray(16 * MiB, 32 * MiB)),
      md5Base64(data.subarray(32 * MiB)),
    ]);
    expect(progress.at(-1)).toBe(data.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('splits parts correctly when chunks straddle part boundaries', async () => {
    const data = new Uint8Array(randomBytes(10_000));
    const expected = [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000].map((start) =>
      md5Base64(data.subarray(start, start + 1_000)),
    );
    // Chunks smaller than, larger than, and coprime with the part size.
    for (const chunkSize of [7, 333, 1_000, 1_777, 4_096, 20_000]) {
      const hashes = await hashBlob(new Blob([data]), 1_000, undefined, undefined, chunkSize);
      expect(hashes.partMd5s, `chunk size ${chunkSize}`).toEqual(expected);
      expect(hashes.md5).toBe(md5Base64(data));
    }
  });

  it('gives a short last part its own digest', async () => {
    const data = new Uint8Array(randomBytes(2_500));
    const hashes = await hashBlob(new Blob([data]), 1_000, undefined, undefined, 600);
    expect(hashes.partMd5s).toEqual([
      md5Base64(data.subarray(0, 1_000)),
      md5Base64(data.subarray(1_000, 2_000)),
      md5Base64(data.subarray(2_000)),
    ]);
  });

  it('stops reading when aborted', async () => {
    const data = new Blob([new Uint8Array(10 * MiB)]);
    const controller = new AbortController();
    let chunksHashed = 0;
    const hashing = hashBlob(
      data,
      EXPECTED_PART_SIZE,
      () => {
        chunksHashed += 1;
        controller.abort();
      },
      controller.signal,
      MiB,
    );
    await expect(hashing).rejects.toMatchObject({ name: 'AbortError' });
    expect(chunksHashed).toBe(1);
    await expect(hashBlob(data, EXPECTED_PART_SIZE, undefined, AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('encodes digests in standard padded base64', () => {
    expect(base64OfBytes(new Uint8Array([0xfb, 0xff, 0x00]))).toBe('+/8A');
  });
});

describe('the hashing worker', () => {
  afterEach(() => vi.unstubAllGlobals());

  /** Runs the worker's code on this thread, with the message passing of a real worker. */
  class InProcessWorker {
    static instances: InProcessWorker[] = [];
    onmessage: ((event: MessageEvent<HashResponse>) => void) | null = null;
    onerror: ((event: ErrorEvent) => void) | null = null;
    terminated = false;
    constructor(readonly url: URL, readonly options: WorkerOptions) {
      InProcessWorker.instances.push(this);
    }
    postMessage(request: HashRequest) {
      void answerHashRequest(request, (response) => {
        if (!this.terminated) this.onmessage?.({ data: response } as MessageEvent<HashResponse>);
      });
    }
    terminate() {
      this.terminated = true;
    }
  }

  it('reports progress and the hashes, then is terminated', async () => {
    InProcessWorker.instances = [];
    vi.stubGlobal('Worker', InProcessWorker);
    const data = new Uint8Array(randomBytes(20 * MiB));
    const progress: number[] = [];
    const hashes = await hashFileInWorker(new Blob([data]), EXPECTED_PART_SIZE, (bytes) => progress.push(bytes));

    expect(hashes.md5).toBe(md5Base64(data));
    expect(hashes.partMd5s).toEqual([md5Base64(data.subarray(0, 16 * MiB)), md5Base64(data.subarray(16 * MiB))]);
    expect(progress.at(-1)).toBe(data.length);
    const [worker] = InProcessWorker.instances;
    expect(worker?.url.pathname.endsWith('/hash.worker.ts')).toBe(true);
    expect(worker?.options.type).toBe('module');
    expect(worker?.terminated).toBe(true);
  });

  it('is terminated when aborted', async () => {
    InProcessWorker.instances = [];
    vi.stubGlobal('Worker', InProcessWorker);
    const controller = new AbortController();
    const hashing = hashFileInWorker(new Blob([new Uint8Array(8 * MiB)]), EXPECTED_PART_SIZE, () => {}, controller.signal);
    controller.abort();
    await expect(hashing).rejects.toMatchObject({ name: 'AbortError' });
    expect(InProcessWorker.instances[0]?.terminated).toBe(true);
  });

  it('hashes on this thread where there are no workers', async () => {
    vi.stubGlobal('Worker', undefined);
    const hashes = await hashFileInWorker(new Blob(['abc']), EXPECTED_PART_SIZE, () => {});
    expect(hashes.md5).toBe('kAFQmDzST7DWlj99KOF/cg==');
  });
});
