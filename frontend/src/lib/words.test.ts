import { describe, expect, it } from 'vitest';
import type { AuditEvent, Transfer } from '../api/types';
import { REJECT_REASONS, describeEvent, rejectReason } from './words';

const event = (action: string, actor = 'system', detail: string | null = null, document_id: string | null = null): AuditEvent => ({
  at: '2025-01-01T00:00:00Z',
  actor,
  action,
  transfer_id: 't',
  document_id,
  outcome: 'success',
  detail,
  source_ip: null,
});

const transfer = {
  sender: { id: 'alice-id', email: 'alice@example.org' },
  documents: [{ id: 'd1', name: 'figures.pdf' }],
} as unknown as Transfer;

describe('rejectReason', () => {
  it('covers every reason of the API', () => {
    for (const reason of Object.keys(REJECT_REASONS)) expect(rejectReason(reason)).toBe(REJECT_REASONS[reason as never]);
  });

  it('reads the audit trail spelling too', () => {
    expect(rejectReason('checksummismatch')).toBe(REJECT_REASONS.checksum_mismatch);
    expect(rejectReason('something_new')).toBe('Something new.');
  });

  it('keeps what the audit trail adds after the code', () => {
    expect(rejectReason('malware: Win.Test.EICAR_HDB-1')).toBe(
      'A virus scan found malware in the file (Win.Test.EICAR_HDB-1).',
    );
    expect(rejectReason('malware')).toBe(REJECT_REASONS.malware);
  });
});

describe('describeEvent', () => {
  it('names people from the sender’s point of view', () => {
    expect(describeEvent(event('access.verified', 'recipient:bob@example.com'), { transfer })).toBe(
      'bob@example.com opened the link',
    );
    expect(describeEvent(event('transfer.created', 'user:alice-id'), { transfer, myId: 'alice-id' })).toMatch(/^You created/);
    expect(describeEvent(event('transfer.cancelled', 'user:alice-id'), { transfer })).toBe(
      'alice@example.org cancelled the transfer',
    );
  });

  it('names documents', () => {
    expect(describeEvent(event('document.rejected', 'system', 'typenotallowed', 'd1'), { transfer })).toBe(
      'Ferry rejected figures.pdf. This kind of file is not accepted here.',
    );
    expect(describeEvent(event('recipient.notified', 'system', 'bob@example.com'), { transfer })).toBe(
      'Ferry emailed the link to bob@example.com',
    );
  });

  it('tells sign-ins apart without a transfer', () => {
    expect(describeEvent(event('user.signed_in', 'user:erin-id', 'portal, password'))).toBe(
      'A user signed in (portal, password)',
    );
    expect(describeEvent(event('user.sign_in_failed', 'anonymous', 'portal, password: no such account'))).toBe(
      'Someone could not sign in (portal, password: no such account)',
    );
    expect(describeEvent(event('user.two_step_enabled', 'user:erin-id'), { myId: 'erin-id' })).toBe(
      'You turned on two-step sign-in',
    );
  });
});
