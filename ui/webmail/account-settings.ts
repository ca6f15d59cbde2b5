/**
 * The account part of the settings: a new password (the current one is asked for), app passwords (made here,
 * shown once, revoked here), the Apple configuration profile to download, and the login sessions, each of
 * which can be ended.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { accountApi, SessionEnded } from './jmap.ts';
import type { El, T } from './types.ts';

interface AppPassword { id: number; label: string; createdAt: string }
interface LoginSession { id: string; label: string; createdAt: string; expiresAt: string; current: boolean }

export function AccountSettings(props: { t: T; lang: string; onEnded: () => void }): El {
  const { t } = props;
  const [status, setStatus] = useState<Record<string, string>>({});
  const [apps, setApps] = useState<AppPassword[]>([]);
  const [made, setMade] = useState<{ label: string; password: string } | null>(null);
  const [sessions, setSessions] = useState<LoginSession[]>([]);
  const say = (part: string, text: string): void => setStatus((s) => ({ ...s, [part]: text }));
  const guard = (part: string, f: () => Promise<void>) => async (): Promise<void> => {
    try {
      await f();
    } catch (err) {
      if (err instanceof SessionEnded) props.onEnded(); else say(part, (err as Error).message);
    }
  };
  const load = guard('load', async () => {
    const [a, s] = await Promise.all([accountApi<{ appPasswords: AppPassword[] }>('GET', 'app-passwords'), accountApi<{ sessions: LoginSession[] }>('GET', 'sessions')]);
    setApps(a.appPasswords);
    setSessions(s.sessions);
  });
  useEffect(() => { void load(); }, []);
  const when = (iso: string): string => new Date(iso).toLocaleString(props.lang);

  const changePassword = (e: Event): void => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const password = String(data.get('new') ?? '');
    if (password !== String(data.get('repeat') ?? '')) { say('password', t('passwordsDiffer')); return; }
    void guard('password', async () => {
      await accountApi('POST', 'password', { currentPassword: String(data.get('current') ?? ''), password });
      form.reset();
      say('password', t('passwordChanged'));
    })();
  };
  const addApp = (e: Event): void => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const label = String(new FormData(form).get('label') ?? '').trim();
    if (!label) return;
    void guard('apps', async () => {
      const r = await accountApi<{ label: string; password: string }>('POST', 'app-passwords', { label });
      setMade({ label: r.label, password: r.password });
      form.reset();
      say('apps', '');
      await load();
    })();
  };

  return h('div', { class: 'account' },
    h('form', { onSubmit: changePassword },
      h('fieldset', null, h('legend', null, t('changePassword')),
        h('label', null, t('currentPassword'), h('input', { type: 'password', name: 'current', autocomplete: 'current-password', required: true })),
        h('label', null, t('newPassword'), h('input', { type: 'password', name: 'new', autocomplete: 'new-password', required: true })),
        h('label', null, t('repeatPassword'), h('input', { type: 'password', name: 'repeat', autocomplete: 'new-password', required: true })),
        h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('changePassword')), h('span', { role: 'status', class: 'muted' }, status.password ?? '')))),
    h('fieldset', null, h('legend', null, t('appPasswords')),
      h('p', { class: 'muted' }, t('appPasswordsHelp')),
      // The profile names the servers and the account (no password); the device asks for one, e.g. an app password.
      h('p', null, h('a', { href: '/autoconfig/apple.mobileconfig', download: '' }, t('appleProfile'))),
      h('ul', { class: 'plain', 'aria-label': t('appPasswords') }, apps.map((a) => h('li', { key: a.id },
        `${a.label} (${when(a.createdAt)}) `,
        h('button', { type: 'button', 'aria-label': t('revokeNamed', { name: a.label }), onClick: guard('apps', async () => { await accountApi('DELETE', `app-passwords/${a.id}`); setMade(null); await load(); }) }, t('revoke'))))),
      made ? h('p', { class: 'notice', role: 'status' }, t('appPasswordMade', { label: made.label }), ' ', h('code', { class: 'secret' }, made.password)) : null,
      h('form', { class: 'toolbar', onSubmit: addApp },
        h('label', null, t('appPasswordLabel'), h('input', { name: 'label', required: true, maxLength: 100 })),
        h('button', { type: 'submit' }, t('makeAppPassword'))),
      h('span', { role: 'status', class: 'muted' }, status.apps ?? '')),
    h('fieldset', null, h('legend', null, t('sessions')),
      h('ul', { class: 'plain', 'aria-label': t('sessions') }, sessions.map((s) => h('li', { key: s.id },
        `${s.label.replace(/^webmail\s*/, '') || 'webmail'} — ${when(s.createdAt)} `,
        s.current ? h('strong', null, t('thisSession')) : h('button', { type: 'button', 'aria-label': t('endSessionNamed', { when: when(s.createdAt) }), onClick: guard('sessions', async () => { await accountApi('DELETE', `sessions/${s.id}`); await load(); }) }, t('endSession'))))),
      h('span', { role: 'status', class: 'muted' }, status.sessions ?? status.load ?? '')));
}
