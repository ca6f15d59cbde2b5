/**
 * Validates the ESMTP parameters of MAIL (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, RFC 3461 RET/ENVID,
 * RFC 4954 AUTH) and RCPT (RFC 3461 NOTIFY/ORCPT).
 */
import { decodeXtext } from './path.ts';
import { reply, replies, type Reply } from './reply.ts';
import type { MailParams, RcptParams } from './hooks.ts';

export function readMailParams(params: Map<string, string | null>, maxMessageBytes: number): MailParams | Reply {
  const out: MailParams = { size: null, body: null, smtpUtf8: false, ret: null, envid: null };
  for (const [key, value] of params) {
    switch (key) {
      case 'SIZE': {
        // RFC 1870 §6: refuse at MAIL when the declared size is over the limit.
        if (value === null || !/^\d{1,20}$/.test(value)) return replies.syntax('Bad SIZE parameter');
        const size = Number(value);
        if (size > maxMessageBytes) return replies.tooBig(maxMessageBytes);
        out.size = size;
        break;
      }
      case 'BODY': {
        const body = value?.toUpperCase();
        if (body === '7BIT' || body === '8BITMIME') out.body = body;
        else if (body === 'BINARYMIME') return replies.paramNotImplemented('BODY=BINARYMIME not supported');
        else return replies.syntax('Bad BODY parameter');
        break;
      }
      case 'SMTPUTF8':
        if (value !== null) return replies.syntax('SMTPUTF8 takes no value');
        out.smtpUtf8 = true;
        break;
      case 'RET': {
        const ret = value?.toUpperCase();
        if (ret !== 'FULL' && ret !== 'HDRS') return replies.syntax('Bad RET parameter');
        out.ret = ret;
        break;
      }
      case 'ENVID': {
        const envid = value === null ? null : decodeXtext(value);
        if (envid === null || envid.length > 100) return replies.syntax('Bad ENVID parameter');
        out.envid = envid;
        break;
      }
      case 'AUTH':
        // RFC 4954 §5: accepted; we do not trust a client-supplied AUTH= identity.
        break;
      default:
        return replies.paramNotImplemented(`Parameter ${key} not supported`);
    }
  }
  return out;
}

export function readRcptParams(params: Map<string, string | null>): RcptParams | Reply {
  const out: RcptParams = { notify: null, orcpt: null };
  for (const [key, value] of params) {
    switch (key) {
      case 'NOTIFY': {
        const list = (value ?? '').toUpperCase().split(',');
        const allowed = ['SUCCESS', 'FAILURE', 'DELAY'];
        // RFC 3461 §4.1: NEVER alone, or any of SUCCESS, FAILURE, DELAY.
        if (list.length === 1 && list[0] === 'NEVER') out.notify = ['NEVER'];
        else if (list.length > 0 && list.every((v) => allowed.includes(v)) && new Set(list).size === list.length) out.notify = list;
        else return replies.syntax('Bad NOTIFY parameter');
        break;
      }
      case 'ORCPT': {
        const decoded = value === null ? null : decodeXtext(value);
        if (decoded === null || !/^[A-Za-z0-9-]+;./.test(decoded) || decoded.length > 500) return replies.syntax('Bad ORCPT parameter');
        out.orcpt = decoded;
        break;
      }
      default:
        return reply(555, '5.5.4', `Parameter ${key} not supported`);
    }
  }
  return out;
}
