/**
 * Keeps data_dir private: it holds every message, the password hashes, SCRAM keys and private keys, so the
 * directory and everything under it is made owner-only (0700 / 0600) at start, whatever the umask was
 * when the files were made; each looser mode found is reported with its path before it is tightened.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export interface LooseMode {
  path: string;
  /** e.g. "0644" */
  was: string;
  now: string;
  /** false when chmod failed (another owner, a read-only file system): the mode stays as it was. */
  fixed: boolean;
}

/** A data dir holds a handful of files; a stray tree under it is not walked without end. */
const MAX_ENTRIES = 10_000;

/** Creates data_dir (0700) if needed, tightens what is looser, and returns what it found. */
export function makeDataDirPrivate(dataDir: string): LooseMode[] {
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const found: LooseMode[] = [];
  let seen = 0;
  const visit = (path: string): void => {
    if (++seen > MAX_ENTRIES) return;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return; // gone meanwhile
    }
    // Symbolic links are followed by nobody here: chmod would change whatever they point at.
    if (st.isSymbolicLink()) return;
    const isDir = st.isDirectory();
    if (!isDir && !st.isFile()) return;
    // Only group and other bits matter; an owner-only file mode narrower than 0600 (a 0400 key) is kept.
    if ((st.mode & 0o077) !== 0) {
      const mode = isDir ? PRIVATE_DIR_MODE : st.mode & PRIVATE_FILE_MODE || PRIVATE_FILE_MODE;
      let fixed = true;
      try {
        chmodSync(path, mode);
      } catch {
        fixed = false;
      }
      found.push({ path, was: octal(st.mode), now: octal(fixed ? mode : st.mode), fixed });
    }
    if (isDir) {
      let names: string[];
      try {
        names = readdirSync(path);
      } catch {
        return;
      }
      for (const name of names) visit(join(path, name));
    }
  };
  visit(dataDir);
  return found;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
