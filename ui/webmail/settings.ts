/**
 * Settings: language and theme, the identities (the addresses this account may send as) with a signature
 * each. Identities follow the account's addresses, which only an admin changes (Identity/set refuses), so a
 * signature the server does not carry is kept in this browser.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { CATALOGUES } from './i18n.ts';
import { VACATION, type Jmap } from './jmap.ts';
import { AccountSettings } from './account-settings.ts';
import { VacationSettings } from './vacation.ts';
import type { El, Identity, T } from './types.ts';

export interface Prefs { lang: string; theme: 'system' | 'light' | 'dark' }

const SIGNATURES = 'postamt.signatures';
function signatures(): Record<string, string> {
  try { return JSON.parse(localStorage.getItem(SIGNATURES) ?? '{}') as Record<string, string>; } catch { return {}; }
}

/** The signature block to put under a new message ("-- " line, RFC 3676 §4.3), or "". */
export function signatureOf(identity: Identity | undefined): string {
  if (!identity) return '';
  const text = identity.textSignature || signatures()[identity.email] || '';
  return text.trim() ? `-- \n${text.trim()}\n\n` : '';
}

const LANGUAGE_NAMES: Record<string, string> = { en: 'English', de: 'Deutsch' };

export function Settings(props: { jmap: Jmap; t: T; identities: Identity[]; prefs: Prefs; setPrefs: (p: Prefs) => void; onEnded: () => void }): El {
  const { t, prefs } = props;
  const [sigs, setSigs] = useState(signatures());
  const [saved, setSaved] = useState('');
  return h('section', { class: 'settings', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, t('settings')),
    h('fieldset', null, h('legend', null, t('appearance')),
      h('label', null, t('language'), h('select', { value: prefs.lang, onChange: (e: Event) => props.setPrefs({ ...prefs, lang: (e.target as HTMLSelectElement).value }) },
        Object.keys(CATALOGUES).map((l) => h('option', { key: l, value: l }, LANGUAGE_NAMES[l] ?? l)))),
      h('label', null, t('theme'), h('select', { value: prefs.theme, onChange: (e: Event) => props.setPrefs({ ...prefs, theme: (e.target as HTMLSelectElement).value as Prefs['theme'] }) },
        h('option', { value: 'system' }, t('themeSystem')), h('option', { value: 'light' }, t('themeLight')), h('option', { value: 'dark' }, t('themeDark'))))),
    h('fieldset', null, h('legend', null, t('identities')),
      props.identities.map((i) => h('div', { key: i.id, class: 'identity' },
        h('p', null, h('strong', null, i.name || i.email), i.name ? ` <${i.email}>` : null),
        h('label', null, t('signature'), h('textarea', {
          rows: 3, value: i.textSignature || sigs[i.email] || '', readOnly: !!i.textSignature,
          onInput: (e: Event) => setSigs({ ...sigs, [i.email]: (e.target as HTMLTextAreaElement).value }),
        })))),
      h('button', { type: 'button', onClick: () => { localStorage.setItem(SIGNATURES, JSON.stringify(sigs)); setSaved(t('saved')); } }, t('saveSignatures')),
      h('span', { role: 'status', class: 'muted' }, ` ${saved}`)),
    props.jmap.session.capabilities.includes(VACATION) ? h(VacationSettings, { jmap: props.jmap, t, onEnded: props.onEnded }) : null,
    h(AccountSettings, { t, lang: prefs.lang, onEnded: props.onEnded }));
}
