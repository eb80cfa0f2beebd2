// The frame of every page: skip link, header with the user and navigation, main, footer.

import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { hasRole, useMe, useSession } from '../auth/session';

function NavLink({ href, children }: { href: string; children: ComponentChildren }) {
  const { path } = useLocation();
  const current = href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
  return (
    <li>
      <a href={href} aria-current={current ? 'page' : undefined}>
        {children}
      </a>
    </li>
  );
}

function UserMenu() {
  const { config, signOut } = useSession();
  const me = useMe();
  if (!me) return null;
  return (
    <div class="user-menu">
      <span class="user-name" title={me.email}>
        {me.name || me.email}
      </span>
      {config.oidc.account_url && (
        <a href={config.oidc.account_url} class="user-link">
          Two-factor sign-in
        </a>
      )}
      <button type="button" class="button-small button-secondary" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );
}

export function Layout({ children }: { children: ComponentChildren }) {
  const me = useMe();
  const { config } = useSession();
  const { path } = useLocation();
  // The recipient's page is for people without an account: no navigation to pages they cannot open.
  const recipientPage = path.startsWith('/r/');
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="site-header">
        <div class="bar">
          {recipientPage ? (
            <span class="brand">
              <span class="brand-mark" aria-hidden="true" />
              Ferry
            </span>
          ) : (
            <a href="/" class="brand">
              <span class="brand-mark" aria-hidden="true" />
              Ferry
            </a>
          )}
          {!recipientPage && <UserMenu />}
        </div>
        {me && !recipientPage && (
          <nav aria-label="Main" class="main-nav">
            <ul>
              {hasRole(me, 'member') && <NavLink href="/">Send</NavLink>}
              <NavLink href="/outbox">Sent</NavLink>
              <NavLink href="/inbox">Received</NavLink>
              {hasRole(me, 'member') && <NavLink href="/drop-folder">Drop folder</NavLink>}
              {hasRole(me, 'admin') && <NavLink href="/admin/users">Users</NavLink>}
              {hasRole(me, 'admin') && <NavLink href="/admin/clients">Machine clients</NavLink>}
              {hasRole(me, 'admin') && <NavLink href="/admin/audit">Audit trail</NavLink>}
            </ul>
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer class="site-footer">
        <p>Ferry sends documents with verified integrity and deletes them once they are received.</p>
        {config.dev_mail_url && (
          <p>
            <a href={config.dev_mail_url} target="_blank" rel="noopener">
              Mail outbox (local development)
            </a>
          </p>
        )}
      </footer>
    </>
  );
}
