/** The login form: address and password (or an app password), with the server's refusal said plainly. */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { login } from './jmap.ts';
import type { El, T } from './types.ts';

export function LoginForm(props: { t: T; onDone: () => void; notice: string }): El {
  const { t } = props;
  const [error, setError] = useState(props.notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    try {
      const r = await login(String(data.get('address') ?? ''), String(data.get('password') ?? ''));
      if (r.ok) props.onDone();
      else setError(r.status === 429 ? t('throttled') : r.status === 401 ? t('loginFailed') : t('serverError'));
    } catch {
      setError(t('serverError'));
    } finally {
      setBusy(false);
    }
  };
  return h('main', { class: 'login' },
    h('form', { onSubmit: submit, 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title' }, t('title')),
      h('label', null, t('address'), h('input', { name: 'address', type: 'email', autocomplete: 'username', required: true, autoFocus: true })),
      h('label', null, t('password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
      error ? h('p', { class: 'error', role: 'alert' }, error) : null,
      h('button', { type: 'submit', class: 'primary', disabled: busy }, t('login'))));
}
