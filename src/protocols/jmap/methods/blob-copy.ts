/**
 * Blob/copy (RFC 8620 §6.3): copies blobs from one account to another the user may write. A blob id is
 * valid only inside its account, so a blob is reached in another account only through this method.
 */
import { z } from 'zod';
import type { JmapBackend } from '../backend.ts';
import { CORE_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { MethodError, setError, type SetError } from '../method-error.ts';
import { idSchema } from '../standard/primitives.ts';

export interface JmapBlobBackend extends JmapBackend {
  /** The blob's id in `toAccountId` after copying it from `fromAccountId`, or null when the source account has no such blob. */
  copyBlob(fromAccountId: string, toAccountId: string, blobId: string): Promise<string | null>;
}

const argsSchema = z.object({
  fromAccountId: idSchema,
  accountId: idSchema,
  blobIds: z.array(idSchema),
});

export const BLOB_COPY = defineMethod<typeof argsSchema, JmapBlobBackend>({
  capability: CORE_CAPABILITY,
  // RFC 8620 §6.3: accountId is the account to copy into; it must be writable.
  account: 'write',
  args: argsSchema,
  async handle(args, ctx) {
    // RFC 8620 §6.3 fromAccountNotFound: the source account is unknown or not one this user may read.
    if ((await ctx.backend.accountFor(ctx.identity, args.fromAccountId)) === null) throw new MethodError('fromAccountNotFound');
    if (args.blobIds.length > ctx.limits.maxObjectsInSet) throw new MethodError('requestTooLarge', `at most ${ctx.limits.maxObjectsInSet} blobs per call`);
    const copied: Record<string, string> = {};
    const notCopied: Record<string, SetError> = {};
    for (const blobId of args.blobIds) {
      const id = await ctx.backend.copyBlob(args.fromAccountId, args.accountId, blobId);
      if (id === null) notCopied[blobId] = setError('notFound', { description: 'no such blob in the source account' });
      else copied[blobId] = id;
    }
    // RFC 8620 §6.3: null rather than an empty map.
    return {
      fromAccountId: args.fromAccountId,
      accountId: args.accountId,
      copied: Object.keys(copied).length ? copied : null,
      notCopied: Object.keys(notCopied).length ? notCopied : null,
    };
  },
});

export const BLOB_METHODS: MethodTable<JmapBlobBackend> = {
  'Blob/copy': BLOB_COPY,
};
