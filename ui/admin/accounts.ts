/**
 * Accounts: the list with quota and state (add, disable or enable, remove), and one account's page: usage,
 * quota, password reset, app passwords, server admin role; and the aliases, catch-alls and forwardings.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc } from './api.ts';
import { bytes, table, useLoad, useStatus, when, type El } from './ui.ts';

interface Account { address: string; disabled: boolean; quotaBytes: number | null; effectiveQuotaBytes: number; roles: { serverAdmin: boolean; domains: string[] } }
const value = (e: Event) => (e.target as HTMLInputElement).value;

export function AccountsPage(): El {
  const { data, error, reload } = useLoad(() => api<Account[]>('GET', '/accounts'));
  const aliases = useLoad(() => api<{ address: string; targets: string[] }[]>('GET', '/aliases'));
  const [address, setAddress] = useState('');
  const [password, setPassword] = useState('');
  const [alias, setAlias] = useState('');
  const [targets, setTargets] = useState('');
  const { status, run } = useStatus();
  return h('div', null,
    h('h2', null, 'Accounts'),
    h('form', { class: 'row', onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { await api('POST', '/accounts', { address, password }); setAddress(''); setPassword(''); reload(); return `Account ${address} added.`; }); } },
      h('label', null, 'Address', h('input', { type: 'email', required: true, value: address, onInput: (e: Event) => setAddress(value(e)) })),
      h('label', null, 'Password', h('input', { type: 'password', autocomplete: 'new-password', required: true, value: password, onInput: (e: Event) => setPassword(value(e)) })),
      h('button', { class: 'primary', type: 'submit' }, 'Add account')),
    status,
    error ? h('p', { class: 'error', role: 'alert' }, error) : null,
    data ? table(['Address', 'Quota', 'State', 'Roles', ''], data.map((a) => [
      h('a', { href: `#/accounts/${a.address}` }, a.address),
      a.effectiveQuotaBytes === 0 ? 'unlimited' : bytes(a.effectiveQuotaBytes),
      a.disabled ? h('span', { class: 'error' }, 'disabled') : 'active',
      a.roles.serverAdmin ? 'server admin' : a.roles.domains.length ? `admin of ${a.roles.domains.join(', ')}` : '',
      h('div', { class: 'actions' },
        h('button', { type: 'button', 'aria-label': `${a.disabled ? 'Enable' : 'Disable'} ${a.address}`, onClick: () => void run(async () => { await api('PATCH', `/accounts/${enc(a.address)}`, { disabled: !a.disabled }); reload(); return `${a.address} ${a.disabled ? 'enabled' : 'disabled'}.`; }) }, a.disabled ? 'Enable' : 'Disable'),
        h('button', { class: 'danger', type: 'button', 'aria-label': `Remove ${a.address}`, onClick: () => { if (confirm(`Remove ${a.address} with all its mail?`)) void run(async () => { await api('DELETE', `/accounts/${enc(a.address)}`); reload(); return `${a.address} removed.`; }); } }, 'Remove')),
    ]), { empty: 'No accounts yet.' }) : null,
    h('h3', null, 'Aliases, catch-alls and forwarding'),
    h('form', { class: 'row', onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { await api('PUT', `/aliases/${enc(alias)}`, { targets: targets.split(',').map((s) => s.trim()).filter(Boolean) }); setAlias(''); setTargets(''); aliases.reload(); return `Alias ${alias} set.`; }); } },
      h('label', null, 'Alias (@domain for a catch-all)', h('input', { required: true, value: alias, onInput: (e: Event) => setAlias(value(e)) })),
      h('label', null, 'Delivered to (comma-separated)', h('input', { required: true, value: targets, onInput: (e: Event) => setTargets(value(e)) })),
      h('button', { type: 'submit' }, 'Set alias')),
    aliases.data ? table(['Alias', 'Delivered to', ''], aliases.data.map((a) => [a.address, a.targets.join(', '),
      h('button', { class: 'danger', type: 'button', 'aria-label': `Remove alias ${a.address}`, onClick: () => void run(async () => { await api('DELETE', `/aliases/${enc(a.address)}`); aliases.reload(); return `Alias ${a.address} removed.`; }) }, 'Remove')]), { empty: 'No aliases.' }) : null);
}

export function AccountPage(props: { address: string; serverAdmin: boolean }): El {
  const a = enc(props.address);
  const account = useLoad(() => api<Account & { usage: { bytes: number; messages: number } }>('GET', `/accounts/${a}`), [props.address]);
  const apps = useLoad(() => api<{ id: number; label: string; createdAt: string; lastUsedAt: string | null }[]>('GET', `/accounts/${a}/app-passwords`), [props.address]);
  const [password, setPassword] = useState('');
  const [quota, setQuota] = useState('');
  const [label, setLabel] = useState('');
  const [shown, setShown] = useState('');
  const { status, run } = useStatus();
  const d = account.data;
  return h('div', null,
    h('h2', null, props.address),
    status,
    account.error ? h('p', { class: 'error', role: 'alert' }, account.error) : null,
    d ? h('p', null, `Using ${bytes(d.usage.bytes)} in ${d.usage.messages} messages of ${d.effectiveQuotaBytes === 0 ? 'unlimited' : bytes(d.effectiveQuotaBytes)}${d.quotaBytes === null ? ' (server default)' : ''}. ${d.disabled ? 'Disabled.' : ''}`) : null,
    h('form', { class: 'row', onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { await api('POST', `/accounts/${a}/password`, { password }); setPassword(''); return 'Password set.'; }); } },
      h('label', null, 'New password', h('input', { type: 'password', autocomplete: 'new-password', required: true, value: password, onInput: (e: Event) => setPassword(value(e)) })),
      h('button', { type: 'submit' }, 'Reset password')),
    h('form', { class: 'row', onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { await api('PATCH', `/accounts/${a}`, { quotaBytes: quota.trim() === '' ? null : Math.round(Number(quota) * 1024 * 1024) }); setQuota(''); account.reload(); return 'Quota set.'; }); } },
      h('label', null, 'Quota in MB (empty: server default, 0: unlimited)', h('input', { inputMode: 'numeric', value: quota, onInput: (e: Event) => setQuota(value(e)) })),
      h('button', { type: 'submit' }, 'Set quota')),
    props.serverAdmin && d ? h('label', { class: 'inline' }, h('input', { type: 'checkbox', checked: d.roles.serverAdmin, onChange: (e: Event) => void run(async () => { await api('PATCH', `/accounts/${a}`, { serverAdmin: (e.target as HTMLInputElement).checked }); account.reload(); return 'Role changed.'; }) }), 'Server admin') : null,
    h('h3', null, 'App passwords'),
    h('form', { class: 'row', onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { const made = await api<{ password: string }>('POST', `/accounts/${a}/app-passwords`, { label }); setShown(made.password); setLabel(''); apps.reload(); return `App password "${label}" made: it is shown once.`; }); } },
      h('label', null, 'Device', h('input', { required: true, value: label, onInput: (e: Event) => setLabel(value(e)) })),
      h('button', { type: 'submit' }, 'Make app password')),
    shown ? h('p', { class: 'secret', 'aria-label': 'New app password' }, shown) : null,
    apps.data ? table(['Device', 'Made', 'Last used', ''], apps.data.map((p) => [p.label, when(p.createdAt), when(p.lastUsedAt),
      h('button', { class: 'danger', type: 'button', 'aria-label': `Revoke ${p.label}`, onClick: () => void run(async () => { await api('DELETE', `/accounts/${a}/app-passwords/${p.id}`); apps.reload(); return `${p.label} revoked.`; }) }, 'Revoke')]), { empty: 'No app passwords.' }) : null);
}
