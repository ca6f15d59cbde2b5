/**
 * JMAP Mail and Submission (RFC 8621) as a data provider of the HTTP server: the Mail methods on the
 * store's object model, the account modseq as the state of Mailbox, Email and Thread and the store's own
 * counters as those of EmailSubmission and Identity for push, and message blobs for downloads.
 */
import { MAIL_CAPABILITY, SUBMISSION_CAPABILITY } from '../protocols/jmap/capabilities.ts';
import type { JmapMailBackend } from '../protocols/jmap/mail/backend.ts';
import { resolveBlob } from '../protocols/jmap/mail/blobs.ts';
import { mailAccountCapability, mailAndSubmissionMethods, submissionAccountCapability } from '../protocols/jmap/mail/index.ts';
import { formatState } from '../protocols/jmap/mail/state.ts';
import type { MethodTable } from '../protocols/jmap/method.ts';
import { isMailboxChange, type Store } from '../store/types.ts';
import type { MailAccess } from '../mail/access.ts';
import type { SubmissionService } from '../submission/service.ts';
import type { Logger } from '../core/log.ts';
import type { SubmissionLimits } from '../protocols/jmap/mail/submission-backend.ts';
import { jmapAccountId, storeAccountId, type JmapDataProvider, type PostamtJmapBackend } from './jmap-backend.ts';
import { bindMailMethods } from './jmap-mail-backend.ts';
import { StoreJmapSubmissionBackend } from './jmap-submission-backend.ts';

/** RFC 8621 §1.5: the types whose state is the account modseq (docs/decisions/0008). */
export const MAIL_TYPES = ['Mailbox', 'Email', 'Thread'] as const;
/** Types with a state counter of their own per account (store SubmissionStore). */
const OBJECT_TYPES = ['EmailSubmission', 'Identity'] as const;
const EVENT_TYPES: Record<string, readonly string[]> = { submission: ['EmailSubmission'], identity: ['Identity'] };

export function mailProvider(options: { store: Store; mail: MailAccess; submission: Pick<SubmissionService, 'submit'>; base: PostamtJmapBackend; limits: SubmissionLimits; logger: Logger }): JmapDataProvider<PostamtJmapBackend> {
  const { store, base, limits } = options;
  const mail = new StoreJmapSubmissionBackend({
    mail: options.mail,
    store,
    base,
    storeAccountId,
    uploadedBlob: (accountId, blobId) => base.uploadedBytes(accountId, blobId),
    uploadedStream: (accountId, blobId) => base.uploadedStream(accountId, blobId),
    submission: options.submission,
    limits,
    logger: options.logger,
  });
  return {
    // RFC 8621 §1.3: the server-level capability objects are empty.
    capabilities: { [MAIL_CAPABILITY]: {}, [SUBMISSION_CAPABILITY]: {} },
    accountCapabilities: () => ({ [MAIL_CAPABILITY]: mailAccountCapability(), [SUBMISSION_CAPABILITY]: submissionAccountCapability({ maxDelayedSend: limits.maxDelayedSend, now: new Date() }) }),
    methods: bindMailMethods(mailAndSubmissionMethods() as unknown as MethodTable<JmapMailBackend>, () => mail),
    types: [...MAIL_TYPES, ...OBJECT_TYPES],
    async states(accountId, types) {
      const out: Record<string, string> = {};
      if (types.some((t) => (MAIL_TYPES as readonly string[]).includes(t))) {
        const state = formatState(await store.accountModSeq(accountId));
        for (const t of types) if ((MAIL_TYPES as readonly string[]).includes(t)) out[t] = state;
      }
      for (const t of OBJECT_TYPES) if (types.includes(t)) out[t] = formatState(await store.objectState(accountId, t));
      return out;
    },
    typesChangedBy(change) {
      // Every change to a mailbox or its messages moves the account modseq, the one state of all three.
      if (isMailboxChange(change)) return MAIL_TYPES;
      if (change.kind === 'reset') return [...MAIL_TYPES, ...OBJECT_TYPES];
      if (change.kind === 'account') return EVENT_TYPES[change.event] ?? [];
      return [];
    },
    async openBlob(accountId, blobId) {
      // Message blobs ("G..."); uploads are the Core backend's.
      if (!blobId.startsWith('G')) return null;
      // A whole message streams from the store; a part is cut out of the parsed message.
      const whole = /^G([1-9][0-9]{0,15})$/.exec(blobId);
      if (whole) {
        const message = await mail.emailStream(jmapAccountId(accountId), Number(whole[1]));
        return message === null ? null : { size: message.size, type: null, stream: message.stream };
      }
      const bytes = await resolveBlob(mail, jmapAccountId(accountId), blobId);
      return bytes === null ? null : { size: bytes.length, type: null, stream: async function* () { yield bytes; } };
    },
  };
}
