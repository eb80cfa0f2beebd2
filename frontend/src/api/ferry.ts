// Ferry's API v1, one function per route (openapi.yaml).

import type { ApiClient } from './client';
import type {
  AccessGrant,
  AuditEvent,
  AuditPage,
  AuditQuery,
  Delivery,
  DeliveryDestination,
  DocumentText,
  DownloadLink,
  DropFolder,
  DropFolderChange,
  IssuedMachineClient,
  MachineClient,
  Me,
  NewMachineClient,
  NewTransfer,
  NewUser,
  Transfer,
  User,
  UserChange,
} from './types';
import type { SignedPart, SpeedTestPlan, UploadApi } from '../upload/types';

const t = (tid: string) => `/api/v1/transfers/${encodeURIComponent(tid)}`;
const d = (tid: string, did: string) => `${t(tid)}/documents/${encodeURIComponent(did)}`;

export const getMe = (api: ApiClient) => api.get<Me>('/api/v1/me');

export const getDropFolder = (api: ApiClient, signal?: AbortSignal) =>
  api.get<DropFolder>('/api/v1/me/drop-folder', { signal });

export const saveDropFolder = (api: ApiClient, change: DropFolderChange) =>
  api.request<DropFolder>('PUT', '/api/v1/me/drop-folder', { body: change });

export const createTransfer = (api: ApiClient, body: NewTransfer) => api.post<Transfer>('/api/v1/transfers', body);

export const listTransfers = (api: ApiClient, box: 'sent' | 'received', signal?: AbortSignal) =>
  api.get<{ transfers: Transfer[] }>('/api/v1/transfers', { query: { box }, signal }).then((r) => r.transfers);

export const getTransfer = (api: ApiClient, tid: string, signal?: AbortSignal) => api.get<Transfer>(t(tid), { signal });

export const cancelTransfer = (api: ApiClient, tid: string) => api.request<Transfer>('DELETE', t(tid));

export const transferEvents = (api: ApiClient, tid: string, signal?: AbortSignal) =>
  api.get<{ events: AuditEvent[] }>(`${t(tid)}/events`, { signal }).then((r) => r.events);

export const downloadLink = (api: ApiClient, tid: string, did: string) =>
  api.get<DownloadLink>(`${d(tid, did)}/content`, { accept: 'application/json' });

export const documentText = (api: ApiClient, tid: string, did: string) => api.get<DocumentText>(`${d(tid, did)}/text`);

export const createDelivery = (api: ApiClient, tid: string, destination: DeliveryDestination) =>
  api.post<Delivery>(`${t(tid)}/deliveries`, { destination });

export const confirmReceipt = (api: ApiClient, tid: string) => api.post<Transfer>(`${t(tid)}/receipt`);

export const requestCode = (api: ApiClient, linkToken: string) =>
  api.post<{ status: string; expires_in: number }>('/api/v1/access', { link_token: linkToken }, { auth: false });

export const verifyCode = (api: ApiClient, linkToken: string, code: string) =>
  api.post<AccessGrant>('/api/v1/access/verify', { link_token: linkToken, code }, { auth: false });

export const listUsers = (api: ApiClient) => api.get<{ users: User[] }>('/api/v1/admin/users').then((r) => r.users);

export const createUser = (api: ApiClient, user: NewUser) => api.post<User>('/api/v1/admin/users', user);

export const changeUser = (api: ApiClient, uid: string, change: UserChange) =>
  api.request<User>('PATCH', `/api/v1/admin/users/${encodeURIComponent(uid)}`, { body: change });

export const deleteUser = (api: ApiClient, uid: string) =>
  api.request<void>('DELETE', `/api/v1/admin/users/${encodeURIComponent(uid)}`);

export const listClients = (api: ApiClient) =>
  api.get<{ clients: MachineClient[] }>('/api/v1/admin/clients').then((r) => r.clients);

export const createClient = (api: ApiClient, client: NewMachineClient) =>
  api.post<IssuedMachineClient>('/api/v1/admin/clients', client);

export const deleteClient = (api: ApiClient, cid: string) =>
  api.request<void>('DELETE', `/api/v1/admin/clients/${encodeURIComponent(cid)}`);

export const queryAudit = (api: ApiClient, q: AuditQuery, signal?: AbortSignal) =>
  api.get<AuditPage>('/api/v1/admin/audit', { query: { ...q }, signal });

/** The upload engine's view of the API, on the signed-in client. */
export function uploadApi(api: ApiClient): UploadApi {
  return {
    signParts: (tid, did, parts, signal) =>
      api
        .request<{ parts: SignedPart[] }>('POST', `${d(tid, did)}/parts`, { body: { parts }, signal })
        .then((r) => r.parts),
    complete: async (tid, did, parts, md5, signal) => {
      await api.request('POST', `${d(tid, did)}/complete`, { body: { parts, md5 }, signal });
    },
    speedTest: (signal) => api.request<SpeedTestPlan>('POST', '/api/v1/speed-test', { signal }),
  };
}
