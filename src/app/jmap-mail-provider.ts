/**
 * JMAP Mail and Submission (RFC 8621) as a data provider of the HTTP server: the Mail methods on the
 * store's object model (one StoreJmapSubmissionBackend, so submissions are remembered across requests),
 * the account modseq as the state of Mailbox, Email and Thread for push, and message blobs for downloads.
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
import { jmapAccountId, storeAccountId, type JmapDataProvider, type PostamtJmapBackend } from './jmap-backend.ts';
import { bindMailMethods } from './jmap-mail-backend.ts';
import { StoreJmapSubmissionBackend } from './jmap-submission-backend.ts';

/** RFC 8621 §1.5: the types whose state is the account modseq (docs/decisions/0008). */
export const MAIL_TYPES = ['Mailbox', 'Email', 'Thread'] as const;

export function mailProvider(options: { store: Store; mail: MailAccess; submission: Pick<SubmissionService, 'submit'>; base: PostamtJmapBackend }): JmapDataProvider<PostamtJmapBackend> {
  const { store, base } = options;
  const mail = new StoreJmapSubmissionBackend({
    mail: options.mail,
    accounts: store,
    base,
    storeAccountId,
    uploadedBlob: (accountId, blobId) => base.uploadedBytes(accountId, blobId),
    submission: options.submission,
  });
  return {
    // RFC 8621 §1.3: the server-level capability objects are empty.
    capabilities: { [MAIL_CAPABILITY]: {}, [SUBMISSION_CAPABILITY]: {} },
    accountCapabilities: () => ({ [MAIL_CAPABILITY]: mailAccountCapability(), [SUBMISSION_CAPABILITY]: submissionAccountCapability() }),
    methods: bindMailMethods(mailAndSubmissionMethods() as unknown as MethodTable<JmapMailBackend>, () => mail),
    types: MAIL_TYPES,
    async states(accountId, types) {
      const state = formatState(await store.accountModSeq(accountId));
      return Object.fromEntries(types.filter((t) => (MAIL_TYPES as readonly string[]).includes(t)).map((t) => [t, state]));
    },
    typesChangedBy(change) {
      // Every change to a mailbox or its messages moves the account modseq, the one state of all three.
      if (isMailboxChange(change) || change.kind === 'reset') return MAIL_TYPES;
      return [];
    },
    async openBlob(accountId, blobId) {
      // Message blobs ("G..."); uploads are the Core backend's.
      if (!blobId.startsWith('G')) return null;
      const bytes = await resolveBlob(mail, jmapAccountId(accountId), blobId);
      return bytes === null ? null : { size: bytes.length, type: null, stream: async function* () { yield bytes; } };
    },
  };
}
