import { describe, expect, it } from 'vitest';
import {
  ApiError,
  NETWORK_MESSAGE,
  NetworkError,
  asSentence,
  describeError,
  problemFromBody,
  waitPhrase,
} from './problems';

const problem = (status: number, slug: string, detail: string, retryAfter: string | null = null) =>
  problemFromBody(status, { type: `urn:ferry:problem:${slug}`, title: 'x', status, detail }, retryAfter);

describe('problemFromBody', () => {
  it('reads problem+json', () => {
    const e = problem(429, 'too-many-requests', 'too many codes', '900');
    expect(e.status).toBe(429);
    expect(e.slug).toBe('too-many-requests');
    expect(e.detail).toBe('too many codes');
    expect(e.retryAfter).toBe(900);
  });

  it('reads API Gateway answers and bodies that are not JSON', () => {
    expect(problemFromBody(401, { message: 'Unauthorized' }).detail).toBe('Unauthorized');
    const e = problemFromBody(502, 'Bad Gateway');
    expect(e.slug).toBe('');
    expect(e.retryAfter).toBeNull();
  });
});

describe('describeError', () => {
  it('never shows raw JSON and always ends a sentence', () => {
    for (const status of [400, 401, 403, 404, 409, 410, 413, 415, 429, 500, 503, 418]) {
      const text = describeError(problem(status, 'x', 'some detail'));
      expect(text).not.toMatch(/[{}]/);
      expect(text).toMatch(/[.!?]$/);
    }
  });

  it('explains a wrong code with the attempts left', () => {
    const e = problem(401, 'unauthenticated', 'wrong code: 3 attempts left before the link is locked');
    expect(describeError(e, 'access-verify')).toBe(
      'That code is not right. You can try 3 more times before the link is locked for a while.',
    );
    const last = problem(401, 'unauthenticated', 'wrong code: 1 attempt left before the link is locked');
    expect(describeError(last, 'access-verify')).toContain('once more');
  });

  it('explains an expired or used code, a locked link and an ended transfer', () => {
    expect(describeError(problem(409, 'conflict', 'no valid code: request a new one'), 'access-verify')).toMatch(
      /Ask for a new code/,
    );
    expect(
      describeError(problem(429, 'too-many-requests', 'too many wrong codes: this link is locked', '840'), 'access-verify'),
    ).toBe('Too many wrong codes: this link is locked. Try again in 14 minutes.');
    expect(describeError(problem(410, 'gone', 'this transfer has ended'), 'access-request')).toMatch(/has ended/);
    expect(describeError(problem(404, 'not-found', 'this link is not valid'), 'access-request')).toMatch(
      /This link is not valid/,
    );
  });

  it('turns a validation detail into a sentence', () => {
    const e = problem(400, 'invalid-request', "recipients: 'bob@x' needs a domain name such as example.org");
    expect(describeError(e, 'create-transfer')).toBe(
      "Please check the form. Recipients: 'bob@x' needs a domain name such as example.org.",
    );
  });

  it('says what to do when the session ended or Ferry cannot be reached', () => {
    expect(describeError(problemFromBody(401, { message: 'Unauthorized' }))).toBe(
      'Your session has ended. Please sign in again.',
    );
    expect(describeError(new NetworkError())).toBe(NETWORK_MESSAGE);
    expect(describeError(new TypeError('Failed to fetch'))).toBe(NETWORK_MESSAGE);
  });

  it('recognises the admin conflicts', () => {
    expect(describeError(problem(409, 'conflict', 'a user with this email already exists'), 'admin-users')).toBe(
      'A user with this email address already exists.',
    );
    expect(
      describeError(problem(409, 'conflict', 'admins cannot delete themselves'), 'admin-users'),
    ).toMatch(/cannot disable or delete yourself/);
    expect(describeError(problem(409, 'conflict', 'users are managed by an outside identity provider'), 'admin-clients')).toMatch(
      /managed in the identity provider/,
    );
    expect(describeError(problem(404, 'not-found', 'no such client'), 'admin-clients')).toBe(
      'This machine client does not exist any more.',
    );
  });

  it('keeps an ApiError an Error', () => {
    expect(new ApiError(500, 'internal', 'x')).toBeInstanceOf(Error);
  });
});

describe('helpers', () => {
  it('asSentence capitalises and ends with a full stop', () => {
    expect(asSentence('no such transfer')).toBe('No such transfer.');
    expect(asSentence('Done!')).toBe('Done!');
    expect(asSentence('  ')).toBe('');
  });

  it('waitPhrase rounds to words', () => {
    expect(waitPhrase(null)).toBe('in a little while');
    expect(waitPhrase(30)).toBe('in 30 seconds');
    expect(waitPhrase(60)).toBe('in a minute');
    expect(waitPhrase(3600)).toBe('in about an hour');
  });
});
