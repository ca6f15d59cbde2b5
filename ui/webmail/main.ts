/**
 * The webmail's entry: the login form or the mail screen, the language and the theme. Everything after the
 * login is JMAP (RFC 8620, RFC 8621) with the session cookie and the CSRF token.
 */
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { initialLanguage, translator } from './i18n.ts';
import { csrfToken, Jmap, loadSession, logout } from './jmap.ts';
import { LoginForm } from './login.ts';
import { loadStartup, Mail, type Startup } from './mail-app.ts';
import { DEFAULT_UNDO_SECONDS, UNDO_CHOICES, type Prefs } from './settings.ts';
import type { El } from './types.ts';

function initialPrefs(): Prefs {
  const theme = localStorage.getItem('postamt.theme');
  const undo = Number(localStorage.getItem('postamt.undo') ?? DEFAULT_UNDO_SECONDS);
  return { lang: initialLanguage(), theme: theme === 'light' || theme === 'dark' ? theme : 'system', undoSeconds: UNDO_CHOICES.includes(undo) ? undo : DEFAULT_UNDO_SECONDS };
}

function App(): El {
  const [prefs, setPrefsState] = useState(initialPrefs());
  const [jmap, setJmap] = useState<Jmap | null>(null);
  const [startup, setStartup] = useState<Promise<Startup> | null>(null);
  const [phase, setPhase] = useState<'loading' | 'login' | 'mail'>('loading');
  const [notice, setNotice] = useState('');
  const t = translator(prefs.lang);
  const setPrefs = (p: Prefs): void => {
    localStorage.setItem('postamt.lang', p.lang);
    localStorage.setItem('postamt.theme', p.theme);
    localStorage.setItem('postamt.undo', String(p.undoSeconds));
    setPrefsState(p);
  };
  useEffect(() => {
    document.documentElement.lang = prefs.lang;
    document.title = t('title');
    if (prefs.theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = prefs.theme;
  }, [prefs]);

  const start = async (): Promise<void> => {
    // Without the CSRF cookie there is no session: asking would only earn a 401.
    if (!csrfToken()) { setPhase('login'); return; }
    try {
      const j = new Jmap(await loadSession());
      // The first screen's data is asked for now; the mail screen waits for it once drawn.
      const first = loadStartup(j);
      first.catch(() => undefined);
      setJmap(j);
      setStartup(first);
      setPhase('mail');
    } catch {
      setPhase('login');
    }
  };
  useEffect(() => { void start(); }, []);

  if (phase === 'loading') return h('p', { class: 'empty' }, t('loading'));
  if (phase === 'login' || !jmap || !startup) return h(LoginForm, { t, notice, onDone: () => { setNotice(''); void start(); } });
  return h(Mail, {
    jmap, startup, t, lang: prefs.lang, prefs, setPrefs,
    onLogout: () => void logout().finally(() => { setJmap(null); setPhase('login'); }),
    onEnded: () => { setNotice(t('sessionEnded')); setJmap(null); setPhase('login'); },
  });
}

render(h(App, null), document.getElementById('app')!);
