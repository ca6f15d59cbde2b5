/**
 * Senders whose remote images the user chose to always show, kept in this browser only (the server keeps no
 * webmail state beyond the JMAP and login sessions).
 */
const KEY = 'postamt.remoteSenders';

function load(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function senderAllowed(email: string | undefined): boolean {
  return !!email && load().includes(email.toLowerCase());
}

export function allowSender(email: string): void {
  const list = load();
  if (!list.includes(email.toLowerCase())) localStorage.setItem(KEY, JSON.stringify([...list, email.toLowerCase()]));
}
