// A recipient's access grant, kept in sessionStorage by link so a reload of the tab keeps access
// until the grant expires, and nothing outlives the tab.

import { ApiClient } from '../../api/client';

export interface Grant {
  accessToken: string;
  transferId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const key = (linkToken: string) => `ferry.recipient.${linkToken}`;

/** The shape of the emailed link's token (256 bits, URL-safe base64 without padding). */
export const isLinkToken = (s: string) => /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(s);

export function loadGrant(linkToken: string): Grant | null {
  try {
    const raw = sessionStorage.getItem(key(linkToken));
    if (!raw) return null;
    const g = JSON.parse(raw) as Grant;
    // A grant about to lapse is no use: ask for a code instead of failing a moment later.
    if (!g.accessToken || !g.transferId || g.expiresAt < Date.now() + 15_000) {
      sessionStorage.removeItem(key(linkToken));
      return null;
    }
    return g;
  } catch {
    return null;
  }
}

export function saveGrant(linkToken: string, grant: Grant): void {
  sessionStorage.setItem(key(linkToken), JSON.stringify(grant));
}

export function dropGrant(linkToken: string): void {
  sessionStorage.removeItem(key(linkToken));
}

/** An API client that carries the recipient token; `onExpired` runs when the API refuses it. */
export function recipientClient(apiUrl: string, grant: Grant, onExpired: () => void): ApiClient {
  return new ApiClient(apiUrl, {
    // There is no refreshing a recipient token: a refusal means a new code is needed.
    token: async (fresh) => (fresh ? null : grant.accessToken),
    rejected: onExpired,
  });
}
