/**
 * What the JMAP engine needs from the rest of the server: the accounts an authenticated user may use and
 * the Session state. Data types add their own role-named operations on top (Mail in a later interface);
 * `app/jmap-backend.ts` implements it on the account-scoped mail service.
 */

/** The authenticated user of one HTTP request, as the HTTP layer established it. */
export interface JmapIdentity {
  /** RFC 8620 §2: the Session object's `username`, also used in log lines. */
  username: string;
}

/** RFC 8620 §2: an Account object of the Session resource. */
export interface JmapAccount {
  name: string;
  isPersonal: boolean;
  isReadOnly: boolean;
  /** Capability URN → the account-level capability object; a method's capability missing here means the account does not support it. */
  accountCapabilities: Record<string, Record<string, unknown>>;
}

export interface JmapBackend {
  /** Every account the identity may access, by JMAP account id (RFC 8620 §1.6.2). */
  accountsFor(identity: JmapIdentity): Promise<Record<string, JmapAccount>>;
  /** One account if the identity may access it, else null (answered accountNotFound). */
  accountFor(identity: JmapIdentity, accountId: string): Promise<JmapAccount | null>;
  /** Capability URN → the account id the client should use for it by default (RFC 8620 §2 primaryAccounts). */
  primaryAccountsFor(identity: JmapIdentity): Promise<Record<string, string>>;
  /**
   * RFC 8620 §2, §3.4: a string that changes whenever the Session object would (accounts or capabilities),
   * returned as `sessionState` with every API response.
   */
  sessionState(identity: JmapIdentity): Promise<string>;
}
