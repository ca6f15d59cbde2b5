/**
 * `node --import tsx bench/lib/fill-maildir.ts MAILDIR N`: fillMaildir in a process of its own, so a bench can
 * write Dovecot's Maildir on one core while it loads the same messages into Postamt's store on the other.
 */
import { fillMaildir } from './mailbox-data.ts';

const [maildir, n] = process.argv.slice(2);
if (!maildir || !Number(n)) {
  process.stderr.write('usage: fill-maildir.ts MAILDIR N\n');
  process.exit(2);
}
fillMaildir(maildir, Number(n));
