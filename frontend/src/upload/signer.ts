// Presigned part URLs of one document, asked for just before they are needed, a few at a time:
// they expire after an hour, so signing a whole large file up front would see the last ones
// expire before their turn.

import type { SignedPart, UploadApi } from './types';

/** Signed URLs are valid for an hour; older than this they are signed again before use. */
export const SIGNED_URL_FRESH_MS = 45 * 60_000;
/** The API signs at most this many parts per request. */
export const MAX_PARTS_PER_SIGN_REQUEST = 1000;

export interface PartSignerOptions {
  api: UploadApi;
  transferId: string;
  documentId: string;
  /** The part's base64 MD5, or undefined while it is not known yet. */
  md5Of: (partNumber: number) => string | undefined;
  /** Parts still to send, in the order they will go: the next ones are signed along. */
  upcoming: () => number[];
  batchSize: number;
  now?: () => number;
}

interface SignedAt {
  part: SignedPart;
  at: number;
}

export class PartSigner {
  private readonly signed = new Map<number, SignedAt>();
  private readonly pending = new Map<number, Promise<void>>();
  private readonly now: () => number;
  private readonly batchSize: number;

  constructor(private readonly options: PartSignerOptions) {
    this.now = options.now ?? Date.now;
    this.batchSize = Math.max(1, Math.min(MAX_PARTS_PER_SIGN_REQUEST, Math.floor(options.batchSize)));
  }

  /** A fresh signed request for the part; signs it (and the next few) when there is none. */
  async signedPart(partNumber: number, signal?: AbortSignal): Promise<SignedPart> {
    for (;;) {
      const known = this.signed.get(partNumber);
      if (known && this.isFresh(known)) return known.part;
      const pending = this.pending.get(partNumber);
      await (pending ?? this.signBatchStartingWith(partNumber, signal));
      if (!pending && !this.signed.has(partNumber)) {
        throw new Error(`The server did not sign part ${partNumber}.`);
      }
    }
  }

  /** Storage refused the part's URL: the next request signs it again. */
  forget(partNumber: number): void {
    this.signed.delete(partNumber);
  }

  private isFresh(signedAt: SignedAt): boolean {
    return this.now() - signedAt.at < SIGNED_URL_FRESH_MS;
  }

  private signBatchStartingWith(partNumber: number, signal?: AbortSignal): Promise<void> {
    const { api, transferId, documentId, md5Of } = this.options;
    const firstMd5 = md5Of(partNumber);
    if (firstMd5 === undefined) return Promise.reject(new Error(`part ${partNumber} has no MD5 yet`));
    const batch = [{ number: partNumber, md5: firstMd5 }];
    for (const number of this.options.upcoming()) {
      if (batch.length >= this.batchSize) break;
      if (number === partNumber || this.pending.has(number)) continue;
      const known = this.signed.get(number);
      if (known && this.isFresh(known)) continue;
      const md5 = md5Of(number);
      if (md5 !== undefined) batch.push({ number, md5 });
    }

    const asked = new Set(batch.map((part) => part.number));
    const signing = api.signParts(transferId, documentId, batch, signal).then((parts) => {
      const at = this.now();
      for (const part of parts) if (asked.has(part.number)) this.signed.set(part.number, { part, at });
    });
    const settled = signing.finally(() => {
      for (const number of asked) this.pending.delete(number);
    });
    for (const number of asked) this.pending.set(number, settled);
    return settled;
  }
}
