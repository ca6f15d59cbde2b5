/**
 * The admin login: address and password, then the code from the authenticator app when the admin has a
 * second factor (the server says so).
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError } from './api.ts';
import { message, type El } from './ui.ts';

export interface Me {
  address: string;
  serverAdmin: boolean;
  domains: string[];
}

export function Login(props: { notice: string; onDone: (me: Me) => void }): El {
  const [address, setAddress] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needCode, setNeedCode] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    try {
      const me = await api<Me>('POST', '/login', { address, password, ...(needCode ? { code } : {}) });
      props.onDone(me);
    } catch (err) {
      if (err instanceof ApiError && err.body.secondFactorRequired === true) {
        setError(needCode ? message(err) : '');
        setNeedCode(true);
      } else {
        setError(message(err));
      }
    } finally {
      setBusy(false);
    }
  };
  return h('main', { class: 'login' },
    h('form', { onSubmit: submit, 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title' }, 'Postamt administration'),
      props.notice ? h('p', { class: 'notice', role: 'status' }, props.notice) : null,
      h('label', null, 'Address', h('input', { type: 'email', autocomplete: 'username', required: true, value: address, onInput: (e: Event) => setAddress((e.target as HTMLInputElement).value) })),
      h('label', null, 'Password', h('input', { type: 'password', autocomplete: 'current-password', required: true, value: password, onInput: (e: Event) => setPassword((e.target as HTMLInputElement).value) })),
      needCode ? h('label', null, 'Code from your authenticator app', h('input', { inputMode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', required: true, value: code, onInput: (e: Event) => setCode((e.target as HTMLInputElement).value) })) : null,
      error ? h('p', { class: 'error', role: 'alert' }, error) : null,
      h('button', { class: 'primary', type: 'submit', disabled: busy }, 'Log in')));
}
