/**
 * Storage needed by outbound mail beyond src/store/types.ts (for the lead to implement in SQLite):
 * the suppression list filled from parsed bounces (issue 4, `postamt suppress list|remove`).
 */

export interface SuppressionRecord {
  address: string; // lower-case
  reason: string; // e.g. "550 5.1.1 user unknown (bounce via VERP)"
  createdAt: Date;
}

export interface SuppressionStore {
  /** Adds or refreshes (reason and date) an address. */
  addSuppression(address: string, reason: string): Promise<void>;
  isSuppressed(address: string): Promise<boolean>;
  listSuppressions(): Promise<SuppressionRecord[]>;
  removeSuppression(address: string): Promise<boolean>;
}
