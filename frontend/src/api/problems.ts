// Turns what the API answers when something goes wrong into a sentence a person can act on.
// The API speaks problem+json (RFC 9457); API Gateway sometimes answers `{"message": …}` instead.

export const NETWORK_MESSAGE = 'Could not reach Ferry. Check your connection and try again.';

/** An answer of the API that is not a success. */
export class ApiError extends Error {
  readonly status: number;
  /** The problem's slug (`not-found` from `urn:ferry:problem:not-found`), '' when there is none. */
  readonly slug: string;
  readonly detail: string;
  /** Seconds, from `Retry-After`, when the answer carried it. */
  readonly retryAfter: number | null;

  constructor(status: number, slug: string, detail: string, retryAfter: number | null = null) {
    super(detail || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.slug = slug;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

/** The request never got an answer (offline, DNS, CORS, the server is down). */
export class NetworkError extends Error {
  constructor() {
    super(NETWORK_MESSAGE);
    this.name = 'NetworkError';
  }
}

const PREFIX = 'urn:ferry:problem:';

/** Reads an error answer's body, whatever shape it has. */
export function problemFromBody(status: number, body: unknown, retryAfter: string | null = null): ApiError {
  let slug = '';
  let detail = '';
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.type === 'string' && b.type.startsWith(PREFIX)) slug = b.type.slice(PREFIX.length);
    if (typeof b.detail === 'string') detail = b.detail;
    else if (typeof b.message === 'string') detail = b.message;
  }
  const seconds = retryAfter === null ? NaN : Number.parseInt(retryAfter, 10);
  return new ApiError(status, slug, detail, Number.isFinite(seconds) && seconds > 0 ? seconds : null);
}

/** What the caller was doing, so the same status can be explained in its own terms. */
export type ProblemContext =
  | 'general'
  | 'load-transfer'
  | 'create-transfer'
  | 'cancel-transfer'
  | 'access-request'
  | 'access-verify'
  | 'recipient'
  | 'download'
  | 'text'
  | 'delivery'
  | 'receipt'
  | 'admin-users'
  | 'admin-clients'
  | 'admin-audit';

/** "wrong code: 3 attempts left" → "Wrong code: 3 attempts left." */
export function asSentence(text: string): string {
  const t = text.trim();
  if (!t) return '';
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** "in 40 seconds", "in 15 minutes", "in about 2 hours". */
export function waitPhrase(seconds: number | null): string {
  if (seconds === null) return 'in a little while';
  if (seconds < 60) return seconds <= 1 ? 'in a second' : `in ${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return minutes === 1 ? 'in a minute' : `in ${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  return hours === 1 ? 'in about an hour' : `in about ${hours} hours`;
}

const isAccess = (c: ProblemContext) => c === 'access-request' || c === 'access-verify';

function badRequest(e: ApiError, context: ProblemContext): string {
  if (e.slug === 'invalid-json' || e.status === 415) {
    return 'Ferry could not read this request. Reload the page and try again.';
  }
  if (isAccess(context) && /code/i.test(e.detail)) {
    return 'The code is the 6 digits from the email. Check it and try again.';
  }
  if (isAccess(context) && /link/i.test(e.detail)) {
    return 'This link is incomplete. Open it again from the email, or copy the whole address.';
  }
  const why = asSentence(e.detail);
  if (context === 'create-transfer') return why ? `Please check the form. ${why}` : 'Please check the form.';
  if (context === 'delivery') {
    return why ? `The target system was not accepted. ${why}` : 'The target system was not accepted.';
  }
  if (context === 'admin-audit') return why ? `Please check the filters. ${why}` : 'Please check the filters.';
  return why ? `Ferry could not accept this. ${why}` : 'Ferry could not accept this. Check what you entered.';
}

function unauthorized(e: ApiError, context: ProblemContext): string {
  if (context === 'access-verify') {
    const left = /(\d+) attempts? left/.exec(e.detail);
    if (left) {
      const n = Number(left[1]);
      return `That code is not right. You can try ${n === 1 ? 'once more' : `${n} more times`} before the link is locked for a while.`;
    }
    return 'That code is not right, and the link is now locked for a while.';
  }
  if (context === 'recipient' || isAccess(context)) {
    return 'Your access has expired. Ask for a new code to open the documents again.';
  }
  return 'Your session has ended. Please sign in again.';
}

function forbidden(context: ProblemContext): string {
  switch (context) {
    case 'create-transfer':
      return 'Your account may not send documents. Ask an administrator to give you the member role.';
    case 'download':
    case 'text':
      return 'Only the sender and the recipients may see the documents themselves.';
    case 'delivery':
    case 'receipt':
      return 'Only a recipient of this transfer can do this.';
    case 'cancel-transfer':
      return 'Only the sender or an administrator can cancel this transfer.';
    case 'admin-users':
    case 'admin-clients':
    case 'admin-audit':
      return 'Only administrators can do this.';
    default:
      return 'You are not allowed to do this.';
  }
}

function notFound(context: ProblemContext): string {
  if (isAccess(context)) {
    return 'This link is not valid. It may have expired, or the transfer may have ended.';
  }
  if (context === 'admin-users') return 'This user does not exist any more.';
  if (context === 'admin-clients') return 'This machine client does not exist any more.';
  return 'This transfer was not found. It may not exist, or it is not yours to see.';
}

function conflict(e: ApiError, context: ProblemContext): string {
  switch (context) {
    case 'access-verify':
      return 'There is no valid code for this link: it has expired, was already used, or was never sent. Ask for a new code.';
    case 'download':
    case 'text':
      return 'This document is not ready yet. Try again in a moment.';
    case 'delivery':
      return /too many|under way/i.test(e.detail)
        ? 'Too many deliveries are still waiting. Try again when some have finished.'
        : 'The documents are not ready to be pushed yet. Try again in a moment.';
    case 'receipt':
      return 'The documents are not ready yet, so receipt cannot be confirmed.';
    case 'cancel-transfer':
      return 'This transfer has already ended and cannot be cancelled.';
    case 'admin-users':
      if (/exist/i.test(e.detail)) return 'A user with this email address already exists.';
      if (/themselves|yourself|own/i.test(e.detail)) {
        return 'You cannot disable or delete yourself, or take away your own admin role.';
      }
      if (/identity provider|outside|managed/i.test(e.detail)) {
        return 'Users are managed in the identity provider, not in Ferry.';
      }
      break;
    case 'admin-clients':
      // The only conflict here: with an outside issuer Ferry owns neither users nor their clients.
      return 'Users are managed in the identity provider, not in Ferry: create machine clients there.';
  }
  const why = asSentence(e.detail);
  return why ? `This cannot be done right now. ${why}` : 'This cannot be done right now.';
}

function gone(context: ProblemContext): string {
  if (isAccess(context) || context === 'recipient' || context === 'receipt') {
    return 'This transfer has ended and its documents were deleted. Ask the sender to send them again if you still need them.';
  }
  if (context === 'download' || context === 'text') {
    return 'This document is no longer available: it was rejected, or the transfer has ended and its documents were deleted.';
  }
  return 'This transfer has ended and its documents were deleted.';
}

function tooMany(e: ApiError, context: ProblemContext): string {
  const when = waitPhrase(e.retryAfter);
  if (/locked|wrong code/i.test(e.detail)) {
    return `Too many wrong codes: this link is locked. Try again ${when}.`;
  }
  if (context === 'access-request') {
    return `Too many codes were requested for this link. Try again ${when}.`;
  }
  return `Ferry is busy. Please wait and try again ${when}.`;
}

/** One sentence (or two) for an API problem. */
export function describeApiError(e: ApiError, context: ProblemContext = 'general'): string {
  switch (e.status) {
    case 400:
      return badRequest(e, context);
    case 401:
      return unauthorized(e, context);
    case 403:
      return forbidden(context);
    case 404:
      return notFound(context);
    case 405:
    case 415:
      return 'Ferry could not read this request. Reload the page and try again.';
    case 409:
      return conflict(e, context);
    case 410:
      return gone(context);
    case 413:
      return 'That is more than Ferry accepts in one request. Try with less.';
    case 429:
      return tooMany(e, context);
    case 500:
      return 'Something went wrong on Ferry’s side. Nothing was changed; please try again.';
    case 502:
    case 503:
    case 504:
      return 'Ferry is not available right now. Please try again in a few minutes.';
    default:
      return asSentence(e.detail) || `Something went wrong (error ${e.status}). Please try again.`;
  }
}

/** A sentence for anything thrown by a request: API problems, network failures, the rest. */
export function describeError(err: unknown, context: ProblemContext = 'general'): string {
  if (err instanceof ApiError) return describeApiError(err, context);
  if (err instanceof NetworkError) return NETWORK_MESSAGE;
  if (err instanceof TypeError) return NETWORK_MESSAGE;
  if (err instanceof Error && err.message) return asSentence(err.message);
  return 'Something went wrong. Please try again.';
}

/** Whether the error means the caller's token is no longer any good. */
export function isUnauthorized(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401;
}

/** Whether the request was cancelled on purpose (an AbortSignal), which is not an error to show. */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
