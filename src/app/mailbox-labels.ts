/**
 * How log lines name the mailboxes a message was delivered into: `alice@example.org/INBOX`.
 */
import type { AccountStore, MailStore } from '../store/types.ts';

export async function mailboxLabels(store: Pick<MailStore, 'getMailboxById'> & Pick<AccountStore, 'getAccountById'>, mailboxIds: number[]): Promise<string[]> {
  const labels: string[] = [];
  for (const id of mailboxIds) {
    const mailbox = await store.getMailboxById(id);
    const account = mailbox ? await store.getAccountById(mailbox.accountId) : null;
    labels.push(`${account?.address ?? '?'}/${mailbox?.name ?? id}`);
  }
  return labels;
}
