/**
 * The suppression list (addresses that bounced permanently, which later sends skip). Its entries are
 * other servers' addresses, shared by every domain here: only a server admin reads or changes it.
 */
import type { SuppressionRecord } from '../store/types.ts';
import type { Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';
import { parseAddress } from './validate.ts';

export function suppressionService(ctx: AdminContext) {
  const { store, gate } = ctx;
  return {
    async list(principal: Principal): Promise<SuppressionRecord[]> {
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, 'see the suppression list');
      return store.listSuppressions();
    },

    /** Allows sending to an address again. */
    async remove(principal: Principal, text: string): Promise<string> {
      const { address } = parseAddress(text);
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, 'change the suppression list');
      if (!(await store.removeSuppression(address))) throw new AdminError('not-found', `${address} is not on the suppression list`);
      gate.done(actor, `remove ${address} from the suppression list`);
      return address;
    },
  };
}

export type SuppressionService = ReturnType<typeof suppressionService>;
