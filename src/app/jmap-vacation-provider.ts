/**
 * VacationResponse (RFC 8621 §8) as a data provider of the HTTP server: the methods on the store's
 * vacation responses, their state for push, and the urn:ietf:params:jmap:vacationresponse capability.
 */
import { VACATION_CAPABILITY } from '../protocols/jmap/capabilities.ts';
import { vacationMethods, type JmapVacation, type JmapVacationBackend } from '../protocols/jmap/mail/vacation-methods.ts';
import type { MethodTable } from '../protocols/jmap/method.ts';
import type { Store, VacationRecord } from '../store/types.ts';
import { storeAccountId, type JmapDataProvider, type PostamtJmapBackend } from './jmap-backend.ts';

const TYPES = ['VacationResponse'] as const;

/** RFC 8620 §1.4 UTCDate: no fractional seconds when they are zero. */
function utcDate(date: Date | null): string | null {
  return date === null ? null : date.toISOString().replace(/\.000Z$/, 'Z');
}

function toJmap(record: VacationRecord): JmapVacation {
  return { isEnabled: record.isEnabled, fromDate: utcDate(record.fromDate), toDate: utcDate(record.toDate), subject: record.subject, textBody: record.textBody, htmlBody: record.htmlBody };
}

export function vacationProvider(options: { store: Pick<Store, 'getVacation' | 'setVacation'> }): JmapDataProvider<PostamtJmapBackend> {
  const { store } = options;
  const idOf = (accountId: string): number => {
    const id = storeAccountId(accountId);
    // The engine checked the account against the login before the method ran.
    if (id === null) throw new Error(`no store account behind ${accountId}`);
    return id;
  };
  const backend = (base: PostamtJmapBackend): JmapVacationBackend => Object.assign(Object.create(base) as PostamtJmapBackend, {
    async vacation(accountId: string) {
      const record = await store.getVacation(idOf(accountId));
      return { value: toJmap(record), state: String(record.state) };
    },
    async setVacation(accountId: string, value: JmapVacation) {
      const record = await store.setVacation(idOf(accountId), {
        isEnabled: value.isEnabled, fromDate: value.fromDate === null ? null : new Date(value.fromDate), toDate: value.toDate === null ? null : new Date(value.toDate),
        subject: value.subject, textBody: value.textBody, htmlBody: value.htmlBody,
      });
      return { state: String(record.state) };
    },
  });
  const methods: Record<string, MethodTable<PostamtJmapBackend>[string]> = {};
  for (const [name, spec] of Object.entries(vacationMethods())) {
    methods[name] = { ...spec, handle: (args, ctx) => spec.handle(args, Object.create(ctx, { backend: { value: backend(ctx.backend) } })) };
  }
  return {
    // RFC 8621 §1.3.3: the capability objects are empty.
    capabilities: { [VACATION_CAPABILITY]: {} },
    accountCapabilities: () => ({ [VACATION_CAPABILITY]: {} }),
    methods,
    types: TYPES,
    async states(accountId, types): Promise<Record<string, string>> {
      return types.includes('VacationResponse') ? { VacationResponse: String((await store.getVacation(accountId)).state) } : {};
    },
    typesChangedBy(change) {
      return (change.kind === 'account' && change.event === 'vacation') || change.kind === 'reset' ? TYPES : [];
    },
  };
}
