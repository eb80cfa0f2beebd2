// Routes and the app's frame.

import { LocationProvider, Route, Router } from 'preact-iso';
import { SessionProvider } from './auth/session';
import { Announcer } from './components/Announcer';
import { Layout } from './components/Layout';
import type { Config } from './config';
import { AuditPage } from './pages/admin/AuditPage';
import { ClientsPage } from './pages/admin/ClientsPage';
import { UsersPage } from './pages/admin/UsersPage';
import { CallbackPage } from './pages/auth/CallbackPage';
import { NotFoundPage } from './pages/auth/NotFoundPage';
import { InboxPage } from './pages/boxes/InboxPage';
import { OutboxPage } from './pages/boxes/OutboxPage';
import { ReceivedPage } from './pages/boxes/ReceivedPage';
import { DropFolderPage } from './pages/dropfolder/DropFolderPage';
import { RecipientPage } from './pages/recipient/RecipientPage';
import { SendPage } from './pages/send/SendPage';
import { TransferPage } from './pages/transfer/TransferPage';

// Links to the identity provider, the mail outbox and the API are pages of their own, not routes.
const APP_PATHS = /^\/(?!oidc(\/|$)|_dev(\/|$)|_storage\/|api\/)/;

export function App({ config }: { config: Config }) {
  return (
    <LocationProvider scope={APP_PATHS}>
      <SessionProvider config={config}>
        <Announcer>
          <Layout>
            <Router>
              <Route path="/" component={SendPage} />
              <Route path="/transfers/:tid" component={TransferPage} />
              <Route path="/outbox" component={OutboxPage} />
              <Route path="/inbox" component={InboxPage} />
              <Route path="/inbox/:tid" component={ReceivedPage} />
              <Route path="/drop-folder" component={DropFolderPage} />
              <Route path="/r/:token" component={RecipientPage} />
              <Route path="/auth/callback" component={CallbackPage} />
              <Route path="/admin/users" component={UsersPage} />
              <Route path="/admin/clients" component={ClientsPage} />
              <Route path="/admin/audit" component={AuditPage} />
              <Route default component={NotFoundPage} />
            </Router>
          </Layout>
        </Announcer>
      </SessionProvider>
    </LocationProvider>
  );
}
