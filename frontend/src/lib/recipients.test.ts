import { describe, expect, it } from 'vitest';
import { addAddresses, checkAddress, recipientsProblem, splitAddresses } from './recipients';

describe('recipients', () => {
  it('splits what people paste', () => {
    expect(splitAddresses('a@x.org, b@y.org;c@z.org\nBob Smith <bob@example.org>')).toEqual([
      'a@x.org',
      'b@y.org',
      'c@z.org',
      'bob@example.org',
    ]);
    expect(splitAddresses('a@x.org b@y.org')).toEqual(['a@x.org', 'b@y.org']);
  });

  it('says why an address is refused', () => {
    expect(checkAddress('bob@example.org')).toBeNull();
    expect(checkAddress('bob@localhost')).toBe('needs a domain name such as example.org');
    expect(checkAddress('bob')).toBe('an address needs exactly one @');
    expect(checkAddress('a@b@c.org')).toBe('an address needs exactly one @');
    expect(checkAddress('@example.org')).toBe('the part before the @ is missing');
    expect(checkAddress('bob@-x.org')).toBe('the domain after the @ is not valid');
  });

  it('lower-cases, drops duplicates and checks the whole list', () => {
    const chips = addAddresses([], ['Bob@Example.org', 'bob@example.org', 'nope']);
    expect(chips.map((c) => c.address)).toEqual(['bob@example.org', 'nope']);
    expect(recipientsProblem(chips)).toMatch(/^nope: /);
    expect(recipientsProblem([])).toBe('Add at least one recipient.');
    const many = addAddresses([], Array.from({ length: 51 }, (_, i) => `p${i}@example.org`));
    expect(recipientsProblem(many)).toBe('At most 50 recipients: remove 1.');
  });
});
