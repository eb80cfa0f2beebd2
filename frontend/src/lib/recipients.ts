// Recipient addresses as typed or pasted: split, cleaned and checked like the API checks them, so
// a mistake shows next to the address instead of after Send.

export const MAX_RECIPIENTS = 50;

export interface Chip {
  address: string;
  /** Why the address cannot be used; null when it is fine. */
  error: string | null;
}

/** Splits pasted text into addresses; "Bob <bob@example.org>" becomes bob@example.org. */
export function splitAddresses(text: string): string[] {
  return text
    .split(/[,;\n\r\t]+/)
    .flatMap((part) => {
      const angle = /<([^<>]+)>/.exec(part);
      if (angle) return [angle[1]];
      return part.split(/\s+/);
    })
    .map((s) => s.trim().replace(/^mailto:/i, ''))
    .filter(Boolean);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Why an address would be refused, in words; null when it is a plain, usable address. */
export function checkAddress(address: string): string | null {
  if (address.length > 254) return 'too long: an address has at most 254 characters';
  if (/[\s<>"(),;\\]/.test(address) || /\p{Cc}/u.test(address)) return 'not a plain email address';
  const at = address.lastIndexOf('@');
  if (at < 0 || address.indexOf('@') !== at) return 'an address needs exactly one @';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (!local) return 'the part before the @ is missing';
  if (local.length > 64) return 'the part before the @ is too long';
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return 'the part before the @ is not valid';
  if (!domain) return 'the domain after the @ is missing';
  if (!domain.includes('.')) return 'needs a domain name such as example.org';
  if (!domain.split('.').every((label) => LABEL.test(label) || /^xn--/i.test(label))) {
    return 'the domain after the @ is not valid';
  }
  return null;
}

/** Adds addresses as chips: lower case, duplicates dropped. */
export function addAddresses(chips: Chip[], addresses: string[]): Chip[] {
  const next = [...chips];
  for (const raw of addresses) {
    const address = raw.trim().toLowerCase();
    if (!address || next.some((c) => c.address === address)) continue;
    next.push({ address, error: checkAddress(address) });
  }
  return next;
}

/** What is wrong with the recipient list as a whole; null when it can be sent. */
export function recipientsProblem(chips: Chip[]): string | null {
  if (chips.length === 0) return 'Add at least one recipient.';
  const bad = chips.filter((c) => c.error);
  if (bad.length === 1) return `${bad[0].address}: ${bad[0].error}. Remove or correct it.`;
  if (bad.length > 1) return `${bad.length} addresses are not valid (shown in red). Remove or correct them.`;
  if (chips.length > MAX_RECIPIENTS) return `At most ${MAX_RECIPIENTS} recipients: remove ${chips.length - MAX_RECIPIENTS}.`;
  return null;
}
