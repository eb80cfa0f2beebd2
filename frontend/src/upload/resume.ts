// What survives a page reload: per document, the parts already stored and their ETags, so a
// resumed upload sends only what is missing.

import type { FileHashes } from './types';

export interface FileFingerprint {
  name: string;
  size: number;
  lastModified: number;
}

export interface FinishedPart {
  number: number;
  /** As storage answered it, quotes included. */
  etag: string;
}

export interface ResumeEntry {
  transferId: string;
  documentId: string;
  fingerprint: FileFingerprint;
  /** Base64 MD5 of the whole file, as declared when the transfer was created. */
  md5: string;
  /** The multipart plan's part size; 0 for a document sent with one PUT. */
  partSize: number;
  /** Ascending by number. */
  parts: FinishedPart[];
  /** Milliseconds since the epoch. */
  updatedAt: number;
}

export type ResumeEntryStart = Omit<ResumeEntry, 'parts' | 'updatedAt'>;

/** Transfers stay open for a week by default; a day more covers an upload started at the end. */
export const RESUME_MAX_AGE_MS = 8 * 24 * 60 * 60 * 1000;

const KEY_PREFIX = 'ferry.upload.';

/** A File's name and date; a plain Blob has neither, so only its size tells it apart. */
export function fileFingerprint(file: Blob): FileFingerprint {
  const named = file as Partial<File>;
  return {
    name: typeof named.name === 'string' ? named.name : '',
    size: file.size,
    lastModified: typeof named.lastModified === 'number' ? named.lastModified : 0,
  };
}

export function sameFingerprint(a: FileFingerprint, b: FileFingerprint): boolean {
  return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
}

/**
 * The hashes a resumed upload needs without reading the whole file again: the declared MD5 is
 * kept, and each remaining part is hashed just before it is sent.
 */
export function hashesFromResumeEntry(entry: ResumeEntry): FileHashes {
  return { md5: entry.md5, partSize: entry.partSize, partMd5s: [] };
}

/** A Storage held in memory: for tests, and where the browser refuses localStorage. */
export class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  clear(): void {
    this.items.clear();
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.items.set(key, String(value));
  }
}

function browserStorage(): Storage {
  try {
    // Reading `localStorage` throws where the user blocks site data.
    if (typeof localStorage !== 'undefined' && localStorage !== null) return localStorage;
  } catch {
    // fall through to memory: uploads still work, they just cannot resume after a reload
  }
  return new MemoryStorage();
}

export interface ResumeStoreOptions {
  now?: () => number;
  maxAgeMs?: number;
}

/** Resume is a convenience: a full or refused storage must never fail an upload. */
export class ResumeStore {
  private readonly storage: Storage;
  private readonly now: () => number;
  private readonly maxAgeMs: number;

  constructor(storage?: Storage, options: ResumeStoreOptions = {}) {
    this.storage = storage ?? browserStorage();
    this.now = options.now ?? Date.now;
    this.maxAgeMs = options.maxAgeMs ?? RESUME_MAX_AGE_MS;
  }

  /** The document's entry, unless it is missing, unreadable or too old. */
  get(documentId: string): ResumeEntry | null {
    const entry = parseEntry(this.read(KEY_PREFIX + documentId));
    if (!entry || entry.documentId !== documentId || this.isExpired(entry)) return null;
    return entry;
  }

  /**
   * The document's entry only when it was made for this very file, transfer and part size;
   * otherwise its parts would belong to other bytes.
   */
  find(expected: ResumeEntryStart): ResumeEntry | null {
    const entry = this.get(expected.documentId);
    if (!entry) return null;
    const matches =
      entry.transferId === expected.transferId &&
      entry.md5 === expected.md5 &&
      entry.partSize === expected.partSize &&
      sameFingerprint(entry.fingerprint, expected.fingerprint);
    return matches ? entry : null;
  }

  /** Starts the entry of an upload, keeping the finished parts of a matching earlier one. */
  start(start: ResumeEntryStart): ResumeEntry {
    const entry: ResumeEntry = {
      ...start,
      fingerprint: { ...start.fingerprint },
      parts: this.find(start)?.parts ?? [],
      updatedAt: this.now(),
    };
    this.write(entry);
    return entry;
  }

  /** Records one finished part at once, so a reload a moment later does not send it again. */
  recordPart(start: ResumeEntryStart, part: FinishedPart): void {
    const entry = this.find(start) ?? { ...start, parts: [], updatedAt: 0 };
    const parts = entry.parts.filter((known) => known.number !== part.number);
    parts.push({ number: part.number, etag: part.etag });
    parts.sort((a, b) => a.number - b.number);
    this.write({ ...entry, parts, updatedAt: this.now() });
  }

  clear(documentId: string): void {
    try {
      this.storage.removeItem(KEY_PREFIX + documentId);
    } catch {
      // nothing to do: the entry expires on its own
    }
  }

  /** Every live entry, or those of one transfer: the pages offer to resume them after a reload. */
  list(transferId?: string): ResumeEntry[] {
    return this.keys()
      .map((key) => this.get(key.slice(KEY_PREFIX.length)))
      .filter((entry): entry is ResumeEntry => entry !== null)
      .filter((entry) => transferId === undefined || entry.transferId === transferId);
  }

  /** Live entries made for a file with this name, size and date. */
  findByFile(file: Blob, transferId?: string): ResumeEntry[] {
    const fingerprint = fileFingerprint(file);
    return this.list(transferId).filter((entry) => sameFingerprint(entry.fingerprint, fingerprint));
  }

  /** Removes entries older than the maximum age, and unreadable ones. Returns how many went. */
  prune(): number {
    let removed = 0;
    for (const key of this.keys()) {
      const entry = parseEntry(this.read(key));
      if (!entry || this.isExpired(entry)) {
        try {
          this.storage.removeItem(key);
          removed += 1;
        } catch {
          // a storage that cannot remove cannot fill up either
        }
      }
    }
    return removed;
  }

  private isExpired(entry: ResumeEntry): boolean {
    return this.now() - entry.updatedAt > this.maxAgeMs;
  }

  private keys(): string[] {
    const keys: string[] = [];
    try {
      for (let index = 0; index < this.storage.length; index += 1) {
        const key = this.storage.key(index);
        if (key?.startsWith(KEY_PREFIX)) keys.push(key);
      }
    } catch {
      // an unreadable storage holds nothing to resume
    }
    return keys;
  }

  private read(key: string): string | null {
    try {
      return this.storage.getItem(key);
    } catch {
      return null;
    }
  }

  private write(entry: ResumeEntry): void {
    try {
      this.storage.setItem(KEY_PREFIX + entry.documentId, JSON.stringify(entry));
    } catch {
      // quota exceeded or storage refused: the upload goes on without resume
    }
  }
}

function parseEntry(text: string | null): ResumeEntry | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const entry = value as Record<string, unknown>;
  const fingerprint = entry.fingerprint as Record<string, unknown> | null | undefined;
  const wellFormed =
    typeof entry.transferId === 'string' &&
    typeof entry.documentId === 'string' &&
    typeof entry.md5 === 'string' &&
    typeof entry.partSize === 'number' &&
    typeof entry.updatedAt === 'number' &&
    typeof fingerprint === 'object' &&
    fingerprint !== null &&
    typeof fingerprint.name === 'string' &&
    typeof fingerprint.size === 'number' &&
    typeof fingerprint.lastModified === 'number' &&
    Array.isArray(entry.parts) &&
    entry.parts.every(
      (part: unknown) =>
        typeof part === 'object' &&
        part !== null &&
        Number.isInteger((part as FinishedPart).number) &&
        typeof (part as FinishedPart).etag === 'string',
    );
  return wellFormed ? (value as ResumeEntry) : null;
}
