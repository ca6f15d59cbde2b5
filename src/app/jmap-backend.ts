/**
 * The JMAP engine's backend on Postamt's accounts: a user has one account, their own, whose JMAP id is
 * derived from the store's account id (never reused, so an id a client holds never comes to mean another
 * account). Data types (Mail, Submission) plug in as JmapDataProviders: their capabilities, methods, the
 * push states of their types, and their blobs.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { JmapAccount, JmapBackend, JmapIdentity } from '../protocols/jmap/backend.ts';
import type { JmapBlobBackend } from '../protocols/jmap/methods/blob-copy.ts';
import { CORE_CAPABILITY } from '../protocols/jmap/capabilities.ts';
import type { MethodTable } from '../protocols/jmap/method.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import type { AccountStore, StoreChange, UploadRecord, UploadStore } from '../store/types.ts';

/** The identity the HTTP layer hands the engine: the JMAP username plus the login it came from. */
export type JmapUser = JmapIdentity & AuthIdentity;

/** RFC 8620 §1.2 Id: "a" + the store's account id (only URL-safe characters, never reused). */
export function jmapAccountId(accountId: number): string {
  return `a${accountId}`;
}

/** The store's account id behind a JMAP account id, or null when the text is not one. */
export function storeAccountId(jmapId: string): number | null {
  const m = /^a([1-9][0-9]{0,14})$/.exec(jmapId);
  return m ? Number(m[1]) : null;
}

/** The bytes of a blob and what it is, streamed so a big one is never held whole. */
export interface BlobContent {
  size: number;
  /** The media type stored with it (uploads), or null when the blob has none of its own. */
  type: string | null;
  stream(): AsyncIterable<Buffer>;
}

/**
 * A JMAP data type family (Mail, Submission, ...) served by Postamt. The composition root merges every
 * provider's methods into the engine's table and asks them for capabilities, push states and blobs.
 */
export interface JmapDataProvider<B extends JmapBackend = JmapBackend> {
  /** Capability URN → server-level capability object (Session `capabilities`, RFC 8620 §2). */
  capabilities: Record<string, Record<string, unknown>>;
  /** Capability URN → account-level capability object for one account (Session `accountCapabilities`). */
  accountCapabilities(accountId: number): Record<string, Record<string, unknown>>;
  methods: MethodTable<B>;
  /** RFC 8620 §7.1: the data type names whose states this provider reports in StateChange ("Email", "Mailbox", ...). */
  types: readonly string[];
  /** The current state string of each named type of the account (the same string /get answers). */
  states(accountId: number, types: readonly string[]): Promise<Record<string, string>>;
  /** Types a store change may have changed (more is harmless: push sends only states that moved); [] for none. */
  typesChangedBy(change: StoreChange): readonly string[];
  /** The blob if `blobId` is one of this provider's (a message body, a part) and belongs to the account, else null. */
  openBlob?(accountId: number, blobId: string): Promise<BlobContent | null>;
}

export interface PostamtJmapBackendOptions {
  accounts: Pick<AccountStore, 'getAccountById'>;
  uploads: UploadStore;
  /** How long an upload is kept (http.upload_expiry; RFC 8620 §6.1 asks for at least an hour). */
  uploadExpiryMs: number;
}

export class PostamtJmapBackend implements JmapBlobBackend {
  private readonly accounts: Pick<AccountStore, 'getAccountById'>;
  private readonly uploads: UploadStore;
  private readonly uploadExpiryMs: number;
  private providers: readonly JmapDataProvider<never>[] = [];
  /** The server's capability URNs, in a stable order, for the session state. */
  private capabilityKey = '';

  constructor(options: PostamtJmapBackendOptions) {
    this.accounts = options.accounts;
    this.uploads = options.uploads;
    this.uploadExpiryMs = options.uploadExpiryMs;
  }

  /** The data types served (set once by the composition root; providers may wrap this backend). */
  setProviders(providers: readonly JmapDataProvider<never>[]): void {
    this.providers = providers;
    this.capabilityKey = providers.flatMap((p) => Object.keys(p.capabilities)).sort().join(' ');
  }

  get dataProviders(): readonly JmapDataProvider<never>[] {
    return this.providers;
  }

  /**
   * RFC 8620 §6.1: stores an upload of the account durably, streamed chunk by chunk from `body`; its blob id
   * is new and means nothing elsewhere. When `body` throws (a size limit, a client gone) nothing is kept.
   */
  async storeUpload(accountId: number, type: string, body: AsyncIterable<Buffer> | Buffer): Promise<UploadRecord> {
    const blobId = `U${randomBytes(16).toString('base64url')}`;
    return this.uploads.addUpload({ accountId, blobId, type, body, expiresAt: new Date(Date.now() + this.uploadExpiryMs) });
  }

  /** The bytes of an upload of the account, whole (drafts built from blobs need them to encode a part). */
  async uploadedBytes(accountId: number, blobId: string): Promise<Buffer | null> {
    const upload = await this.uploadedStream(accountId, blobId);
    if (upload === null) return null;
    const parts: Buffer[] = [];
    for await (const part of upload.stream()) parts.push(part);
    return Buffer.concat(parts, upload.size);
  }

  /** An upload of the account as a stream (Email/import stores it without holding it whole). */
  async uploadedStream(accountId: number, blobId: string): Promise<BlobContent | null> {
    if (!blobId.startsWith('U')) return null;
    return this.uploads.getUpload(accountId, blobId, new Date());
  }

  /** RFC 8620 §6.2: any blob of the account, uploaded or stored by a data type; another account's is null. */
  async readBlob(accountId: number, blobId: string): Promise<BlobContent | null> {
    if (blobId.startsWith('U')) return this.uploadedStream(accountId, blobId);
    for (const p of this.providers) {
      const blob = await p.openBlob?.(accountId, blobId);
      if (blob) return blob;
    }
    return null;
  }

  async copyBlob(fromAccountId: string, toAccountId: string, blobId: string): Promise<string | null> {
    const from = storeAccountId(fromAccountId);
    const to = storeAccountId(toAccountId);
    if (from === null || to === null) return null;
    const blob = await this.readBlob(from, blobId);
    if (blob === null) return null;
    // A user has one account, so a copy is within it and the blob keeps its id (RFC 8620 §6.3 allows that).
    if (from === to) return blobId;
    return (await this.storeUpload(to, blob.type ?? 'application/octet-stream', blob.stream())).blobId;
  }

  /** The store account id of an identity the HTTP layer authenticated. */
  accountOf(identity: JmapIdentity): number {
    return (identity as JmapUser).accountId;
  }

  async accountsFor(identity: JmapIdentity): Promise<Record<string, JmapAccount>> {
    const own = await this.ownAccount(identity);
    return own ? { [own.id]: own.account } : {};
  }

  async accountFor(identity: JmapIdentity, accountId: string): Promise<JmapAccount | null> {
    // RFC 8620 §3.6.2 accountNotFound: only the user's own account exists for them.
    if (accountId !== jmapAccountId(this.accountOf(identity))) return null;
    return (await this.ownAccount(identity))?.account ?? null;
  }

  async primaryAccountsFor(identity: JmapIdentity): Promise<Record<string, string>> {
    const own = await this.ownAccount(identity);
    if (!own) return {};
    return Object.fromEntries(Object.keys(own.account.accountCapabilities).map((urn) => [urn, own.id]));
  }

  async sessionState(identity: JmapIdentity): Promise<string> {
    // RFC 8620 §2: changes when the Session object would; its accounts and capabilities follow from these.
    return createHash('sha256').update(`${this.accountOf(identity)}\n${identity.username}\n${this.capabilityKey}`).digest('base64url').slice(0, 16);
  }

  private async ownAccount(identity: JmapIdentity): Promise<{ id: string; account: JmapAccount } | null> {
    const accountId = this.accountOf(identity);
    const record = await this.accounts.getAccountById(accountId);
    if (!record || record.disabled) return null;
    const accountCapabilities: Record<string, Record<string, unknown>> = { [CORE_CAPABILITY]: {} };
    for (const p of this.providers) Object.assign(accountCapabilities, p.accountCapabilities(accountId));
    return { id: jmapAccountId(accountId), account: { name: record.address, isPersonal: true, isReadOnly: false, accountCapabilities } };
  }
}
