/**
 * The vacation responder (RFC 8621 §8 VacationResponse, the one object "singleton"): on or off, an optional
 * period, the subject and the text of the automatic reply. Shown only when the server offers the capability.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { SessionEnded, type Jmap } from './jmap.ts';
import type { El, T } from './types.ts';

interface Vacation { isEnabled: boolean; fromDate: string | null; toDate: string | null; subject: string | null; textBody: string | null }

const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : '');
const utc = (d: string, endOfDay: boolean): string | null => (d ? `${d}T${endOfDay ? '23:59:59' : '00:00:00'}Z` : null);

export function VacationSettings(props: { jmap: Jmap; t: T; onEnded: () => void }): El {
  const { jmap, t } = props;
  const [v, setV] = useState<Vacation | null>(null);
  const [status, setStatus] = useState('');
  const accountId = jmap.session.accountId;
  useEffect(() => {
    void jmap.call([['VacationResponse/get', { accountId, ids: ['singleton'] }, 'v']]).then((r) => setV(r.v.list[0] as Vacation), (err) => {
      if (err instanceof SessionEnded) props.onEnded(); else setStatus((err as Error).message);
    });
  }, []);
  if (!v) return h('fieldset', null, h('legend', null, t('vacation')), h('p', { class: 'muted' }, status || t('loading')));
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const r = await jmap.call([['VacationResponse/set', { accountId, update: { singleton: v } }, 's']]);
      const failed = r.s.notUpdated?.singleton as { type: string; description?: string } | undefined;
      setStatus(failed ? (failed.description ?? failed.type) : t('saved'));
    } catch (err) {
      if (err instanceof SessionEnded) props.onEnded(); else setStatus((err as Error).message);
    }
  };
  return h('form', { onSubmit: save },
    h('fieldset', null, h('legend', null, t('vacation')),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: v.isEnabled, onChange: (e: Event) => setV({ ...v, isEnabled: (e.target as HTMLInputElement).checked }) }), t('vacationOn')),
      h('label', null, t('dateFrom'), h('input', { type: 'date', value: day(v.fromDate), onInput: (e: Event) => setV({ ...v, fromDate: utc((e.target as HTMLInputElement).value, false) }) })),
      h('label', null, t('dateTo'), h('input', { type: 'date', value: day(v.toDate), onInput: (e: Event) => setV({ ...v, toDate: utc((e.target as HTMLInputElement).value, true) }) })),
      h('label', null, t('subject'), h('input', { type: 'text', name: 'vacation-subject', value: v.subject ?? '', onInput: (e: Event) => setV({ ...v, subject: (e.target as HTMLInputElement).value || null }) })),
      h('label', null, t('vacationText'), h('textarea', { rows: 4, value: v.textBody ?? '', onInput: (e: Event) => setV({ ...v, textBody: (e.target as HTMLTextAreaElement).value || null }) })),
      h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('saveVacation')), h('span', { role: 'status', class: 'muted' }, status))));
}
