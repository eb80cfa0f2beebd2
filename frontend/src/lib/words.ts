// The API's codes in words a person understands.

import type {
  AuditEvent,
  Delivery,
  DocumentStatus,
  FerryDocument,
  RecipientStatus,
  RejectReason,
  Transfer,
  TransferStatus,
} from '../api/types';
import { asSentence } from '../api/problems';

export type Tone = 'neutral' | 'progress' | 'success' | 'warning' | 'danger';

export const REJECT_REASONS: Record<RejectReason, string> = {
  checksum_mismatch: 'The file changed or was damaged on the way: its checksum does not match.',
  type_not_allowed: 'This kind of file is not accepted here.',
  type_mismatch: 'The file’s content does not match its name or type.',
  too_large: 'The file is larger than it was declared to be, or larger than Ferry accepts.',
  empty: 'The file is empty.',
  processing_failed: 'Ferry could not check this file. Please send it again.',
  malware: 'A virus scan found malware in the file.',
  withdrawn: 'The file was taken out of the drop folder before Ferry could send it.',
};

/**
 * A rejection reason in words; unknown codes still read as a sentence. The audit trail may say
 * more after the code (`malware: Win.Test.EICAR_HDB-1`), which is kept in brackets.
 */
export function rejectReason(reason: string | undefined | null): string {
  if (!reason) return 'The file was not accepted.';
  const colon = reason.indexOf(':');
  const code = colon > 0 ? reason.slice(0, colon) : reason;
  const more = colon > 0 ? reason.slice(colon + 1).trim() : '';
  const key = normalise(code);
  const found = (Object.keys(REJECT_REASONS) as RejectReason[]).find((k) => normalise(k) === key);
  if (!found) return asSentence(reason.replace(/_/g, ' '));
  return more ? `${REJECT_REASONS[found].replace(/\.$/, '')} (${more}).` : REJECT_REASONS[found];
}

const normalise = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');

export const TRANSFER_STATUS: Record<TransferStatus, { label: string; tone: Tone; explain: string }> = {
  uploading: { label: 'Uploading', tone: 'progress', explain: 'The files are being uploaded.' },
  processing: {
    label: 'Checking',
    tone: 'progress',
    explain: 'Ferry is checking the files. The recipients are emailed once every file is checked.',
  },
  sent: { label: 'Sent', tone: 'success', explain: 'The recipients have been emailed a link to the documents.' },
  completed: {
    label: 'Completed',
    tone: 'neutral',
    explain: 'Every recipient confirmed receipt, and the documents have been deleted.',
  },
  expired: { label: 'Expired', tone: 'neutral', explain: 'The transfer expired, and its documents have been deleted.' },
  cancelled: { label: 'Cancelled', tone: 'warning', explain: 'The transfer was cancelled, and its documents deleted.' },
};

export const isFinal = (s: TransferStatus) => s === 'completed' || s === 'expired' || s === 'cancelled';

export const DOCUMENT_STATUS: Record<DocumentStatus, { label: string; tone: Tone }> = {
  awaiting_upload: { label: 'Awaiting upload', tone: 'neutral' },
  uploaded: { label: 'Validating', tone: 'progress' },
  ready: { label: 'Ready', tone: 'success' },
  rejected: { label: 'Rejected', tone: 'danger' },
  purged: { label: 'Deleted', tone: 'neutral' },
};

export const RECIPIENT_STATUS: Record<RecipientStatus, { label: string; tone: Tone }> = {
  pending: { label: 'Waiting', tone: 'neutral' },
  notified: { label: 'Emailed', tone: 'progress' },
  verified: { label: 'Opened', tone: 'progress' },
  received: { label: 'Received', tone: 'success' },
};

export function deliveryStatus(d: Delivery): { label: string; tone: Tone; text: string } {
  const target = d.type === 'webhook' ? 'your webhook' : 'your storage URLs';
  switch (d.status) {
    case 'pending':
      return {
        label: 'Sending',
        tone: 'progress',
        text:
          d.attempts === 0
            ? `Ferry is about to send the documents to ${target}.`
            : `Attempt ${d.attempts} of 5 did not get through; Ferry tries again shortly.${d.last_error ? ` ${asSentence(d.last_error)}` : ''}`,
      };
    case 'succeeded':
      return { label: 'Delivered', tone: 'success', text: `The documents were delivered to ${target}.` };
    case 'failed':
      return {
        label: 'Failed',
        tone: 'danger',
        text: `The delivery to ${target} failed after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}.${d.last_error ? ` ${asSentence(d.last_error)}` : ''}`,
      };
  }
}

/** A readable name for an audit actor from the point of view of the transfer's sender. */
export function actorName(actor: string, transfer: Pick<Transfer, 'sender'> | null, myId: string | null): string {
  if (actor === 'system') return 'Ferry';
  if (actor === 'anonymous') return 'Someone';
  if (actor === 'operator:shell') return 'The operator';
  if (actor.startsWith('recipient:')) return actor.slice('recipient:'.length);
  if (actor.startsWith('user:')) {
    const id = actor.slice('user:'.length);
    if (myId && id === myId) return 'You';
    if (transfer && id === transfer.sender.id) return transfer.sender.email;
    // Someone else acting on a transfer is an admin; without a transfer the actor column says who.
    return transfer ? 'An administrator' : 'A user';
  }
  return actor;
}

/** One audit event as a sentence: "bob@example.com opened the link". */
export function describeEvent(
  e: AuditEvent,
  options: { transfer?: Transfer | null; myId?: string | null; documents?: FerryDocument[] } = {},
): string {
  const sentence = eventSentence(e, options);
  // Only our own phrases start in lower case ("a document is ready"); email addresses stay as they are.
  return sentence.startsWith('a document') ? `A${sentence.slice(1)}` : sentence;
}

function eventSentence(
  e: AuditEvent,
  options: { transfer?: Transfer | null; myId?: string | null; documents?: FerryDocument[] } = {},
): string {
  const who = actorName(e.actor, options.transfer ?? null, options.myId ?? null);
  const docs = options.documents ?? options.transfer?.documents ?? [];
  const doc = e.document_id ? (docs.find((d) => d.id === e.document_id)?.name ?? 'a document') : 'a document';
  const detail = e.detail ?? '';
  switch (e.action) {
    case 'transfer.created':
      return `${who} created the transfer`;
    case 'transfer.cancelled':
      return `${who} cancelled the transfer`;
    case 'transfer.rejected':
      return 'Ferry cancelled the transfer: every file was rejected';
    case 'transfer.ended':
      return detail === 'completed'
        ? 'The transfer is complete: every recipient confirmed receipt'
        : detail === 'expired'
          ? 'The transfer expired'
          : detail === 'cancelled'
            ? 'The transfer was cancelled'
            : 'The transfer ended';
    case 'transfer.purged':
      return 'Ferry deleted the documents and their text';
    case 'document.upload_completed':
      return `${who === 'You' ? 'You' : who} finished uploading ${doc}`;
    case 'document.validated':
      return `Ferry checked ${doc}: it arrived intact and was accepted`;
    case 'document.rejected':
      return `Ferry rejected ${doc}. ${rejectReason(detail)}`;
    case 'document.ready':
      return `${doc} is ready`;
    case 'document.downloaded':
      return `${who} downloaded ${doc}`;
    case 'document.text_read':
      return `${who} read the text of ${doc}`;
    case 'recipient.notified':
      return `Ferry emailed the link to ${detail || 'a recipient'}`;
    case 'recipient.received':
      return `${detail || who} confirmed receipt`;
    case 'access.code_sent':
      return `${who} asked for a code`;
    case 'access.verified':
      return `${who} opened the link`;
    case 'access.code_rejected':
      return detail === 'link locked'
        ? `${who} entered a wrong code too often: the link is locked for a while`
        : `${who} entered a wrong code`;
    case 'delivery.requested':
      return `${who} asked Ferry to push the documents to ${detail.startsWith('webhook') ? 'a webhook' : 'their own storage'}`;
    case 'delivery.succeeded':
      return 'Ferry delivered the documents to the recipient’s system';
    case 'delivery.failed':
      return 'A delivery to the recipient’s system failed';
    case 'user.created':
      return `${who} added a user`;
    case 'user.changed':
      return `${who} changed a user`;
    case 'user.deleted':
      return `${who} deleted a user`;
    case 'user.signed_in':
      return `${who} signed in (${detail})`;
    case 'user.sign_in_failed':
      return `${who} could not sign in (${detail})`;
    case 'user.password_changed':
      return `${who} changed their password`;
    case 'user.two_step_enabled':
      return `${who} turned on two-step sign-in`;
    case 'client.created':
      return `${who} created a machine client`;
    case 'client.deleted':
      return `${who} deleted a machine client`;
    case 'drop_folder.updated':
      return `${who} changed their drop folder`;
    case 'drop_folder.ingested':
      return `Ferry took ${detail || 'the files'} from the drop folder`;
    case 'drop_folder.refused':
      return `Ferry refused what arrived in a drop folder: ${detail}`;
    case 'job.abandoned':
      return 'Ferry gave up on a background task after several attempts';
    default:
      return `${who}: ${e.action}`;
  }
}
