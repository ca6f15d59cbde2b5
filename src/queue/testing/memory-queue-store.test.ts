/**
 * The in-memory queue store the queue tests use is held to the storage contract's queue part.
 */
import { runQueueStoreContract } from '../../store/contract/queue-contract.ts';
import { MemoryQueueStore } from './memory-queue-store.ts';

runQueueStoreContract('memory queue store', async () => ({ queue: new MemoryQueueStore(), cleanup: async () => undefined }));
