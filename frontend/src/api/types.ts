// The API's resource shapes (openapi.yaml). Only what the pages read is typed.

import type { UploadPlan } from '../upload/types';

export type Role = 'admin' | 'member';

export interface Me {
  id: string;
  email: string;
  name: string;
  roles: Role[];
}

export type TransferStatus = 'uploading' | 'processing' | 'sent' | 'completed' | 'expired' | 'cancelled';
export type DocumentStatus = 'awaiting_upload' | 'uploaded' | 'ready' | 'rejected' | 'purged';
export type RejectReason =
  | 'checksum_mismatch'
  | 'type_not_allowed'
  | 'type_mismatch'
  | 'too_large'
  | 'empty'
  | 'processing_failed'
  | 'malware'
  | 'withdrawn';
export type RecipientStatus = 'pending' | 'notified' | 'verified' | 'received';
export type Engine = 'native' | 'textract' | 'none';
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';
export type DeliveryType = 's3_presigned' | 'webhook';
export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface Party {
  id: string;
  email: string;
}

export interface Recipient {
  email: string;
  status: RecipientStatus;
  notified_at?: string;
  verified_at?: string;
  received_at?: string;
}

export interface FerryDocument {
  id: string;
  name: string;
  size: number;
  content_type: string;
  detected_type: string | null;
  /** Null only for a multipart document created without it, until its upload is completed. */
  md5: string | null;
  sha256: string | null;
  status: DocumentStatus;
  reason?: RejectReason;
  pages: number | null;
  text_preview: string | null;
  text_truncated: boolean;
  engine: Engine | null;
  upload?: UploadPlan;
}

export interface Delivery {
  id: string;
  recipient: string;
  type: DeliveryType;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface Transfer {
  id: string;
  status: TransferStatus;
  sender: Party;
  recipients: Recipient[];
  subject: string;
  message: string;
  created_at: string;
  expires_at: string;
  purged_at: string | null;
  documents: FerryDocument[];
  deliveries: Delivery[];
}

export interface NewFile {
  name: string;
  size: number;
  content_type: string;
  md5: string;
}

export interface NewTransfer {
  recipients: string[];
  subject: string;
  message?: string;
  expires_in_hours?: number;
  files: NewFile[];
}

export interface AuditEvent {
  at: string;
  actor: string;
  action: string;
  transfer_id: string | null;
  document_id: string | null;
  outcome: AuditOutcome;
  detail: string | null;
  source_ip: string | null;
}

export interface AuditPage {
  events: AuditEvent[];
  next_cursor: string | null;
}

export interface AuditQuery {
  transfer_id?: string;
  actor?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: number;
}

export interface User {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  enabled: boolean;
}

export interface NewUser {
  email: string;
  name: string;
  roles: Role[];
  password?: string;
}

export interface UserChange {
  name?: string;
  roles?: Role[];
  enabled?: boolean;
}

/** Credentials for scripts and target systems that act for a user (the `ferry` command line). */
export interface MachineClient {
  client_id: string;
  name: string;
  /** The id of the user the client acts for. */
  owner_id: string;
  created_at: string;
}

export interface NewMachineClient {
  name: string;
  owner_email: string;
}

/** The answer to creating a client: the only time the server ever shows its secret. */
export interface IssuedMachineClient extends MachineClient {
  client_secret: string;
}

export interface DownloadLink {
  url: string;
  expires_in: number;
}

export interface DocumentText {
  document_id: string;
  engine: Engine;
  page_count: number | null;
  truncated: boolean;
  pages: { number: number; text: string }[];
}

export type DeliveryDestination =
  | { type: 's3_presigned'; urls: Record<string, string> }
  | { type: 'webhook'; url: string; secret: string };

export interface AccessGrant {
  access_token: string;
  token_type: 'Bearer';
  transfer_id: string;
  expires_in: number;
}

/** Where a member's scripts put files to be sent, and what files without a manifest are sent with. */
export interface DropFolder {
  /** `s3://bucket/inbox/{user id}/`, or a local directory when Ferry runs on one computer. */
  location: string;
  /** Empty: files put in the folder without a manifest wait for one. */
  default_recipients: string[];
  subject: string | null;
  message: string | null;
}

export type DropFolderChange = Omit<DropFolder, 'location'>;
