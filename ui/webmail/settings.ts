/**
 * Settings: language, theme and the undo-send time (kept in this browser), the identities (the addresses
 * this account may send as) with their name and signature, kept on the server through Identity/set
 * (RFC 8621 §6.3) so every browser and client shows the same, the vacation responder and the account.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { CATALOGUES } from './i18n.ts';
import { VACATION, type Jmap } from './jmap.ts';
import { AccountSettings } from './account-settings.ts';
import { VacationSettings } from './vacation.ts';
import type { El, Identity, T } from './types.ts';

export interface Prefs {
  lang: string;
  theme: 'system' | 'light' | 'dark';
  /** How long a sent message is held on the server so "Undo" can take it back (0: sent at once). */
  undoSeconds: number;
}

export const UNDO_CHOICES = [0, 5, 10, 20, 30];
export const DEFAULT_UNDO_SECONDS = 10;

/** The signature block to put under a new message ("-- " line, RFC 3676 §4.3), or "". */
export function signatureOf(identity: Identity | undefined): string {
  const text = identity?.textSignature ?? '';
  return text.trim() ? `-- \n${text.trim()}\n\n` : '';
}

const LANGUAGE_NAMES: Record<string, string> = { en: 'English', de: 'Deutsch' };

function Identities(props: { jmap: Jmap; t: T; identities: Identity[]; onIdentities: (list: Identity[]) => void }): El {
  const { t } = props;
  const [edits, setEdits] = useState<Record<string, { name: string; textSignature: string }>>({});
  const [status, setStatus] = useState('');
  const value = (i: Identity) => edits[i.id] ?? { name: i.name, textSignature: i.textSignature };
  const edit = (i: Identity, patch: Partial<{ name: string; textSignature: string }>) => setEdits({ ...edits, [i.id]: { ...value(i), ...patch } });
  const save = async (): Promise<void> => {
    const update = Object.fromEntries(Object.entries(edits).map(([id, v]) => [id, { name: v.name, textSignature: v.textSignature }]));
    try {
      const accountId = props.jmap.session.accountId;
      const r = await props.jmap.call([['Identity/set', { accountId, update }, 's'], ['Identity/get', { accountId }, 'g']]);
      const failed = Object.values(r.s.notUpdated ?? {})[0] as { type: string; description?: string } | undefined;
      props.onIdentities(r.g.list as Identity[]);
      setEdits({});
      setStatus(failed ? (failed.description ?? failed.type) : t('saved'));
    } catch (err) {
      setStatus((err as Error).message);
    }
  };
  return h('fieldset', null, h('legend', null, t('identities')),
    props.identities.map((i) => h('div', { key: i.id, class: 'identity' },
      h('p', null, h('strong', null, i.email)),
      h('label', null, t('identityName'), h('input', { value: value(i).name, onInput: (e: Event) => edit(i, { name: (e.target as HTMLInputElement).value }) })),
      h('label', null, t('signature'), h('textarea', { rows: 3, value: value(i).textSignature, onInput: (e: Event) => edit(i, { textSignature: (e.target as HTMLTextAreaElement).value }) })))),
    h('button', { type: 'button', onClick: () => void save() }, t('saveSignatures')),
    h('span', { role: 'status', class: 'muted' }, ` ${status}`));
}

export function Settings(props: { jmap: Jmap; t: T; identities: Identity[]; onIdentities: (list: Identity[]) => void; prefs: Prefs; setPrefs: (p: Prefs) => void; onEnded: () => void }): El {
  const { t, prefs } = props;
  const undoChoices = UNDO_CHOICES.filter((n) => n <= props.jmap.session.maxDelayedSend);
  return h('section', { class: 'settings', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, t('settings')),
    h('fieldset', null, h('legend', null, t('appearance')),
      h('label', null, t('language'), h('select', { value: prefs.lang, onChange: (e: Event) => props.setPrefs({ ...prefs, lang: (e.target as HTMLSelectElement).value }) },
        Object.keys(CATALOGUES).map((l) => h('option', { key: l, value: l }, LANGUAGE_NAMES[l] ?? l)))),
      h('label', null, t('theme'), h('select', { value: prefs.theme, onChange: (e: Event) => props.setPrefs({ ...prefs, theme: (e.target as HTMLSelectElement).value as Prefs['theme'] }) },
        h('option', { value: 'system' }, t('themeSystem')), h('option', { value: 'light' }, t('themeLight')), h('option', { value: 'dark' }, t('themeDark')))),
      // Offered only as far as the server holds messages (its maxDelayedSend).
      undoChoices.length > 1 ? h('label', null, t('undoSend'), h('select', { value: String(Math.min(prefs.undoSeconds, Math.max(...undoChoices))), onChange: (e: Event) => props.setPrefs({ ...prefs, undoSeconds: Number((e.target as HTMLSelectElement).value) }) },
        undoChoices.map((n) => h('option', { key: n, value: String(n) }, n === 0 ? t('undoOff') : t('undoSeconds', { n }))))) : null),
    h(Identities, { jmap: props.jmap, t, identities: props.identities, onIdentities: props.onIdentities }),
    props.jmap.session.capabilities.includes(VACATION) ? h(VacationSettings, { jmap: props.jmap, t, onEnded: props.onEnded }) : null,
    h(AccountSettings, { t, lang: prefs.lang, onEnded: props.onEnded }));
}
