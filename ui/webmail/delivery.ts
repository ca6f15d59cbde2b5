/**
 * The delivery timeline of a message the user sent, from the server's message trace: accepted, queued, each
 * delivery attempt with the receiving host and its reply, delivered, deferred or bounced, and any report sent.
 */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { accountApi, SessionEnded } from './jmap.ts';
import type { MessageKey } from './i18n.ts';
import type { El, T } from './types.ts';

interface Step { at: string; event: string; result: string; reason: string | null; recipients: string[]; data: Record<string, unknown> }
interface Timeline { queueId: string; events: Step[] }

const LABEL: Record<string, MessageKey> = {
  received: 'stepReceived', stored: 'stepStored', queued: 'stepQueued', delivered: 'stepDelivered', deferred: 'stepDeferred',
  bounced: 'stepBounced', suppressed: 'stepSuppressed', expired: 'stepExpired', dsn: 'stepDsn', rejected: 'stepRejected', deleted: 'stepDeleted',
};

function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function StepItem(props: { s: Step; t: T; lang: string }): El {
  const { s, t } = props;
  const label = s.event === 'bounced' && s.reason === 'admin' ? t('stepBouncedByAdmin') : LABEL[s.event] ? t(LABEL[s.event]!) : s.event;
  // The stored step names mailboxes (`bob@example.org/INBOX`): the addresses are what the user sent to.
  const who = s.event === 'received' || s.event === 'dsn' ? [] : s.recipients;
  // A delivery attempt names the host that answered (none for a delivery into a mailbox here).
  const attempt = typeof s.data.attempt === 'number' ? s.data.attempt : null;
  const host = attempt !== null && !s.data.local ? text(s.data.mx) ?? text(s.data.ip) : null;
  const details = [attempt !== null ? t('attemptN', { n: attempt }) : null, host ? t('viaHost', { host }) : null].filter((d): d is string => d !== null);
  const reply = s.event === 'dsn' ? null : text(s.data.reply);
  return h('li', { class: `step ${s.event}`, 'data-event': s.event },
    h('time', { dateTime: s.at }, new Date(s.at).toLocaleString(props.lang)), ' ',
    h('strong', null, label),
    who.length ? h('span', { class: 'who' }, ` ${who.join(', ')}`) : null,
    details.length ? h('span', { class: 'muted' }, ` (${details.join(', ')})`) : null,
    reply ? h('code', { class: 'reply' }, reply) : null);
}

export function Delivery(props: { messageId: string; t: T; lang: string; onEnded: () => void }): El {
  const { t } = props;
  const [found, setFound] = useState<Timeline[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    accountApi<{ messages: Timeline[] }>('GET', `delivery?messageId=${encodeURIComponent(props.messageId)}`).then(
      (r) => { if (live) setFound(r.messages); },
      (err: Error) => { if (err instanceof SessionEnded) props.onEnded(); else if (live) setError(err.message); },
    );
    return () => { live = false; };
  }, [props.messageId]);
  return h('section', { class: 'delivery', 'aria-label': t('delivery') },
    h('h3', null, t('delivery')),
    error ? h('p', { class: 'error', role: 'alert' }, error)
      : found === null ? h('p', { class: 'muted' }, t('loading'))
        : found.length === 0 ? h('p', { class: 'muted' }, t('deliveryNone'))
          : found.map((tl) => h('ol', { key: tl.queueId, class: 'steps' }, tl.events.map((s, i) => h(StepItem, { key: i, s, t, lang: props.lang })))));
}
