/**
 * The interface text in catalogues, one per language: a new language is a new catalogue, no code change.
 * The language is the browser's first supported one, or the one the user picked (kept in localStorage).
 */
const en = {
  title: 'Postamt webmail',
  address: 'Address',
  password: 'Password',
  login: 'Log in',
  logout: 'Log out',
  loginFailed: 'Wrong address or password.',
  throttled: 'Too many failed logins; try again later.',
  serverError: 'The server could not be reached.',
  mailboxes: 'Folders',
  compose: 'Write',
  noMessages: 'No messages in this folder.',
  loadMore: 'Load more',
  noSubject: '(no subject)',
  from: 'From',
  to: 'To',
  cc: 'Cc',
  subject: 'Subject',
  date: 'Date',
  send: 'Send',
  cancel: 'Cancel',
  sent: 'Message sent.',
  sendFailed: 'Sending failed:',
  markRead: 'Mark read',
  markUnread: 'Mark unread',
  flag: 'Flag',
  unflag: 'Unflag',
  delete: 'Delete',
  attachments: 'Attachments',
  remoteBlocked: 'Remote images in this message are blocked.',
  showImages: 'Show images',
  selectMessage: 'Select a message to read it.',
  unread: 'unread',
  flagged: 'flagged',
  hasAttachment: 'has attachment',
  language: 'Language',
  sessionEnded: 'Your session has ended; please log in again.',
  loading: 'Loading…',
} as const;

export type MessageKey = keyof typeof en;
type Catalogue = Record<MessageKey, string>;

const de: Catalogue = {
  title: 'Postamt Webmail',
  address: 'Adresse',
  password: 'Passwort',
  login: 'Anmelden',
  logout: 'Abmelden',
  loginFailed: 'Adresse oder Passwort ist falsch.',
  throttled: 'Zu viele fehlgeschlagene Anmeldungen; bitte später erneut versuchen.',
  serverError: 'Der Server ist nicht erreichbar.',
  mailboxes: 'Ordner',
  compose: 'Verfassen',
  noMessages: 'Keine Nachrichten in diesem Ordner.',
  loadMore: 'Mehr laden',
  noSubject: '(kein Betreff)',
  from: 'Von',
  to: 'An',
  cc: 'Kopie',
  subject: 'Betreff',
  date: 'Datum',
  send: 'Senden',
  cancel: 'Abbrechen',
  sent: 'Nachricht gesendet.',
  sendFailed: 'Senden fehlgeschlagen:',
  markRead: 'Als gelesen markieren',
  markUnread: 'Als ungelesen markieren',
  flag: 'Markieren',
  unflag: 'Markierung entfernen',
  delete: 'Löschen',
  attachments: 'Anhänge',
  remoteBlocked: 'Externe Bilder in dieser Nachricht sind blockiert.',
  showImages: 'Bilder anzeigen',
  selectMessage: 'Eine Nachricht auswählen, um sie zu lesen.',
  unread: 'ungelesen',
  flagged: 'markiert',
  hasAttachment: 'mit Anhang',
  language: 'Sprache',
  sessionEnded: 'Die Sitzung ist abgelaufen; bitte erneut anmelden.',
  loading: 'Wird geladen…',
};

export const CATALOGUES: Record<string, Catalogue> = { en, de };

export function initialLanguage(): string {
  const saved = localStorage.getItem('postamt.lang');
  if (saved && CATALOGUES[saved]) return saved;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0]!;
    if (CATALOGUES[base]) return base;
  }
  return 'en';
}

export function translator(lang: string): (key: MessageKey) => string {
  const cat = CATALOGUES[lang] ?? en;
  return (key) => cat[key];
}
