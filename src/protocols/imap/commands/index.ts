/**
 * The IMAP command table: verb (upper-case, `UID X` for UID forms) → allowed states and handler.
 */
import type { CommandSpec } from '../command.ts';
import { APPEND } from './append.ts';
import { AUTHENTICATE, LOGIN, STARTTLS } from './authenticate.ts';
import { CAPABILITY, CHECK, COMPRESS, ENABLE, ID, LOGOUT, NAMESPACE, NOOP } from './connection.ts';
import { COPY } from './copy.ts';
import { FETCH } from './fetch.ts';
import { IDLE } from './idle.ts';
import { CREATE, DELETE, LIST, LSUB, RENAME, STATUS, SUBSCRIBE, UNSUBSCRIBE } from './mailboxes.ts';
import { GETMETADATA, SETMETADATA } from './metadata.ts';
import { MOVE } from './move.ts';
import { NOTIFY } from './notify.ts';
import { REPLACE } from './replace.ts';
import { GETQUOTA, GETQUOTAROOT, SETQUOTA } from './quota.ts';
import { SEARCH } from './search.ts';
import { CANCELUPDATE } from './search-updates.ts';
import { SORT } from './sort.ts';
import { THREAD } from './thread.ts';
import { CLOSE, EXAMINE, EXPUNGE, SELECT, UID_EXPUNGE, UNSELECT } from './select.ts';
import { STORE } from './store.ts';

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  CAPABILITY, NOOP, LOGOUT, STARTTLS, AUTHENTICATE, LOGIN, ENABLE, ID, COMPRESS, NAMESPACE, IDLE,
  GETQUOTA, GETQUOTAROOT, SETQUOTA, GETMETADATA, SETMETADATA,
  SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND,
  CHECK, CLOSE, UNSELECT, EXPUNGE,
  SEARCH, SORT, THREAD, FETCH, STORE, COPY, MOVE, REPLACE, CANCELUPDATE, NOTIFY,
  'UID SEARCH': SEARCH,
  'UID SORT': SORT,
  'UID THREAD': THREAD,
  'UID FETCH': FETCH,
  'UID STORE': STORE,
  'UID COPY': COPY,
  'UID MOVE': MOVE,
  'UID REPLACE': REPLACE,
  'UID EXPUNGE': UID_EXPUNGE,
};
