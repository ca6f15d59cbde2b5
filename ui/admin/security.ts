/**
 * The admin's own security: the TOTP second factor (enrol with the secret or otpauth URI, confirm with a
 * first code, remove) and API tokens (make one, shown once; list; revoke).
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { table, useLoad, useStatus, when, type El } from './ui.ts';

const value = (e: Event) => (e.target as HTMLInputElement).value;

export function SecurityPage(): El {
  const factor = useLoad(() => api<{ enabled: boolean }>('GET', '/second-factor'));
  const tokens = useLoad(() => api<{ id: string; label: string; kind: string; createdAt: string; expiresAt: string }[]>('GET', '/tokens'));
  const [enrolment, setEnrolment] = useState<{ secret: string; uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [label, setLabel] = useState('');
  const [days, setDays] = useState('90');
  const [token, setToken] = useState('');
  const { status, run } = useStatus();
  return h('div', null,
    h('h2', null, 'Security'),
    status,
    h('h3', null, 'Second factor'),
    factor.data?.enabled
      ? h('form', { class: 'row', onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { await api('POST', '/second-factor/remove', { code }); setCode(''); factor.reload(); return 'Second factor removed.'; }); } },
          h('p', { class: 'ok' }, 'Logins need a code from your authenticator app.'),
          h('label', null, 'Current code', h('input', { inputMode: 'numeric', autocomplete: 'one-time-code', required: true, value: code, onInput: (e: Event) => setCode(value(e)) })),
          h('button', { class: 'danger', type: 'submit' }, 'Remove second factor'))
      : enrolment
        ? h('form', { onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { await api('POST', '/second-factor/confirm', { code }); setCode(''); setEnrolment(null); factor.reload(); return 'Second factor on: logins now need a code.'; }); } },
            h('p', null, 'Add this key to your authenticator app (or open the link on your phone), then enter the code it shows.'),
            h('p', { class: 'secret', 'aria-label': 'Secret key' }, enrolment.secret),
            h('p', null, h('a', { href: enrolment.uri }, 'otpauth link')),
            h('div', { class: 'row' },
              h('label', null, 'Code', h('input', { inputMode: 'numeric', autocomplete: 'one-time-code', required: true, value: code, onInput: (e: Event) => setCode(value(e)) })),
              h('button', { class: 'primary', type: 'submit' }, 'Confirm')))
        : h('div', { class: 'actions' }, h('button', { type: 'button', onClick: () => void run(async () => { setEnrolment(await api('POST', '/second-factor')); return ''; }) }, 'Set up a second factor')),
    h('h3', null, 'API tokens'),
    h('form', { class: 'row', onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { const made = await api<{ token: string }>('POST', '/tokens', { label, expiresInDays: Number(days) }); setToken(made.token); setLabel(''); tokens.reload(); return 'Token made: copy it now, it is shown once.'; }); } },
      h('label', null, 'Label', h('input', { required: true, value: label, onInput: (e: Event) => setLabel(value(e)) })),
      h('label', null, 'Days valid', h('input', { inputMode: 'numeric', required: true, value: days, onInput: (e: Event) => setDays(value(e)) })),
      h('button', { type: 'submit' }, 'Make token')),
    token ? h('p', { class: 'secret', 'aria-label': 'New API token' }, token) : null,
    tokens.data ? table(['Label', 'Kind', 'Made', 'Expires', ''], tokens.data.map((t) => [t.label, t.kind === 'api' ? 'API token' : 'login session', when(t.createdAt), when(t.expiresAt),
      h('button', { class: 'danger', type: 'button', 'aria-label': `Revoke ${t.label}`, onClick: () => void run(async () => { await api('DELETE', `/tokens/${t.id}`); tokens.reload(); return `${t.label} revoked.`; }) }, 'Revoke')]), { empty: 'No tokens.' }) : null);
}
