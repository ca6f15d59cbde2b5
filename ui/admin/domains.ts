/**
 * Domains: the list (add, remove), and one domain's page: the DNS records to publish with a live check of
 * each, its DKIM keys (generate, rotate, activate, retire) and its admins.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc } from './api.ts';
import { table, useLoad, useStatus, when, type El } from './ui.ts';

interface DnsRecord { name: string; type: string; value: string; purpose: string; required: boolean }
interface Check { status: string; type: string; name: string; detail: string }
interface DkimKey { selector: string; algorithm: string; state: string; createdAt: string; record: string }

export function DomainsPage(props: { serverAdmin: boolean }): El {
  const { data, error, reload } = useLoad(() => api<{ name: string; createdAt: string }[]>('GET', '/domains'));
  const [name, setName] = useState('');
  const { status, run } = useStatus();
  return h('div', null,
    h('h2', null, 'Domains'),
    props.serverAdmin ? h('form', { class: 'row', onSubmit: (e: Event) => { e.preventDefault(); void run(async () => { await api('POST', '/domains', { name }); setName(''); reload(); return `Domain ${name} added.`; }); } },
      h('label', null, 'New domain', h('input', { value: name, required: true, onInput: (e: Event) => setName((e.target as HTMLInputElement).value) })),
      h('button', { class: 'primary', type: 'submit' }, 'Add domain')) : null,
    status,
    error ? h('p', { class: 'error', role: 'alert' }, error) : null,
    data ? table(['Domain', 'Added', ''], data.map((d) => [
      h('a', { href: `#/domains/${d.name}` }, d.name), when(d.createdAt),
      props.serverAdmin ? h('button', { class: 'danger', type: 'button', 'aria-label': `Remove ${d.name}`, onClick: () => { if (confirm(`Remove ${d.name}?`)) void run(async () => { await api('DELETE', `/domains/${enc(d.name)}`); reload(); return `Domain ${d.name} removed.`; }); } }, 'Remove') : null,
    ]), { empty: 'No domains yet.' }) : null);
}

export function DomainPage(props: { domain: string }): El {
  const d = enc(props.domain);
  const records = useLoad(() => api<{ records: DnsRecord[] }>('GET', `/domains/${d}/dns`), [props.domain]);
  const keys = useLoad(() => api<DkimKey[]>('GET', `/domains/${d}/dkim`), [props.domain]);
  const admins = useLoad(() => api<{ address: string; domains: string[] }[]>('GET', `/domains/${d}/admins`), [props.domain]);
  const [checks, setChecks] = useState<Check[] | null>(null);
  const { status, run } = useStatus();
  const check = () => run(async () => {
    const r = await api<{ ok: boolean; failures: number; checks: Check[]; activatedDkimSelectors: string[] }>('POST', `/domains/${d}/dns/check`);
    setChecks(r.checks);
    keys.reload();
    return r.ok ? 'Every required record is in place.' : `${r.failures} required record(s) missing or wrong.`;
  });
  const keyAction = (method: string, path: string, text: string) => run(async () => { await api(method, `/domains/${d}/dkim${path}`, method === 'POST' && path === '' ? {} : undefined); keys.reload(); records.reload(); return text; });
  return h('div', null,
    h('h2', null, props.domain),
    status,
    h('h3', null, 'DNS records to publish'),
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'button', onClick: () => void check() }, 'Check DNS now')),
    records.error ? h('p', { class: 'error' }, records.error) : null,
    records.data ? table(['Type', 'Name', 'Value', 'Purpose'], records.data.records.map((r) => [r.type, h('code', null, r.name), h('code', null, r.value), `${r.purpose}${r.required ? '' : ' (optional)'}`])) : null,
    checks ? h('div', null, h('h3', null, 'Live check'), table(['Status', 'Type', 'Name', 'Detail'], checks.map((c) => [h('span', { class: c.status === 'ok' ? 'ok' : c.status.includes('optional') ? 'warn' : 'error' }, c.status), c.type, h('code', null, c.name), c.detail]))) : null,
    h('h3', null, 'DKIM keys'),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onClick: () => void keyAction('POST', '', 'New keys made: publish their records, then they sign.') }, 'Generate keys'),
      h('button', { type: 'button', onClick: () => void keyAction('POST', '/rotate', 'New keys made to replace the signing ones.') }, 'Rotate keys')),
    keys.error ? h('p', { class: 'error' }, keys.error) : null,
    keys.data ? table(['Selector', 'Algorithm', 'State', 'Made', 'Record', ''], keys.data.map((k) => [k.selector, k.algorithm, k.state, when(k.createdAt), h('code', null, k.record),
      h('div', { class: 'actions' },
        k.state === 'pending' ? h('button', { type: 'button', onClick: () => void keyAction('POST', `/${enc(k.selector)}/activate`, `${k.selector} signs from now on.`) }, 'Activate') : null,
        k.state !== 'retired' ? h('button', { class: 'danger', type: 'button', onClick: () => void keyAction('DELETE', `/${enc(k.selector)}`, `${k.selector} retired.`) }, 'Retire') : null)]), { empty: 'No DKIM key yet.' }) : null,
    h('h3', null, 'Admins of this domain'),
    admins.data ? table(['Address', 'Domains'], admins.data.map((a) => [a.address, a.domains.join(', ')]), { empty: 'Only server admins.' }) : null);
}
