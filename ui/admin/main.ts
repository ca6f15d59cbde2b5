/**
 * The admin UI's entry: the login, then the pages (dashboard, domains, accounts, queue, trace, reports, policy, security)
 * chosen by the URL fragment. Everything goes through the admin API with the session cookie and CSRF token.
 */
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, csrfToken } from './api.ts';
import { AccountPage, AccountsPage } from './accounts.ts';
import { DashboardPage } from './dashboard.ts';
import { DomainPage, DomainsPage } from './domains.ts';
import { Login, type Me } from './login.ts';
import { PolicyPage } from './policy.ts';
import { QueuePage } from './queue.ts';
import { ReportsPage } from './reports.ts';
import { SecurityPage } from './security.ts';
import { TracePage } from './trace.ts';
import type { El } from './ui.ts';

const PAGES: [string, string, boolean][] = [
  ['dashboard', 'Dashboard', false], ['domains', 'Domains', false], ['accounts', 'Accounts', false],
  ['queue', 'Queue', false], ['trace', 'Trace', false], ['reports', 'Reports', false], ['policy', 'Policy', true], ['security', 'Security', false],
];

function useHash(): string[] {
  const read = () => decodeURIComponent(location.hash.replace(/^#\/?/, '')).split('/').filter(Boolean);
  const [parts, setParts] = useState(read());
  useEffect(() => {
    const on = () => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function page(parts: string[], me: Me): El {
  const [name = 'dashboard', arg] = parts;
  if (name === 'domains') return arg ? h(DomainPage, { domain: arg }) : h(DomainsPage, { serverAdmin: me.serverAdmin });
  if (name === 'accounts') return arg ? h(AccountPage, { address: arg, serverAdmin: me.serverAdmin }) : h(AccountsPage, {});
  if (name === 'queue') return h(QueuePage, { serverAdmin: me.serverAdmin });
  if (name === 'trace') return h(TracePage, {});
  if (name === 'reports') return h(ReportsPage, {});
  if (name === 'policy') return h(PolicyPage, {});
  if (name === 'security') return h(SecurityPage, {});
  return h(DashboardPage, {});
}

function App(): El {
  const [me, setMe] = useState<Me | null>(null);
  const [phase, setPhase] = useState<'loading' | 'login' | 'in'>('loading');
  const [notice, setNotice] = useState('');
  const parts = useHash();
  useEffect(() => {
    // Without the CSRF cookie there is no session: asking would only earn a 401.
    if (!csrfToken()) { setPhase('login'); return; }
    api<Me>('GET', '/me').then((m) => { setMe(m); setPhase('in'); }, () => setPhase('login'));
  }, []);
  const current = parts[0] ?? 'dashboard';
  useEffect(() => { document.title = `${PAGES.find((p) => p[0] === current)?.[1] ?? 'Dashboard'} · Postamt administration`; }, [current]);
  if (phase === 'loading') return h('p', { class: 'muted' }, 'Loading…');
  if (phase === 'login' || !me) return h(Login, { notice, onDone: (m) => { setNotice(''); setMe(m); setPhase('in'); } });
  const logout = () => void api('POST', '/logout').finally(() => { setMe(null); setNotice('You are logged out.'); setPhase('login'); });
  return h('div', { class: 'shell' },
    h('header', null, h('h1', null, 'Postamt administration'),
      h('span', { class: 'who' }, `${me.address} · ${me.serverAdmin ? 'server admin' : `admin of ${me.domains.join(', ')}`}`),
      h('button', { type: 'button', onClick: logout }, 'Log out')),
    h('nav', { 'aria-label': 'Sections' }, h('ul', null, PAGES.filter(([, , serverOnly]) => !serverOnly || me.serverAdmin).map(([id, label]) =>
      h('li', null, h('a', { href: `#/${id}`, 'aria-current': current === id ? 'page' : undefined }, label))))),
    h('main', null, page(parts, me)));
}

render(h(App, {}), document.getElementById('app')!);
