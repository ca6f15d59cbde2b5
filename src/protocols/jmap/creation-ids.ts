/**
 * Creation ids of one request (RFC 8620 §3.3, §5.3): the client's creation id → the id the server assigned,
 * seeded from the request's `createdIds` and grown by every successful create, so later calls can say `#k1`.
 */

export class CreatedIds {
  private readonly map = new Map<string, string>();

  constructor(initial: Record<string, string> = {}) {
    for (const [creationId, id] of Object.entries(initial)) if (typeof id === 'string') this.map.set(creationId, id);
  }

  /** A record created under `creationId` got the server id `id`. */
  set(creationId: string, id: string): void {
    this.map.set(creationId, id);
  }

  get(creationId: string): string | undefined {
    return this.map.get(creationId);
  }

  /**
   * RFC 8620 §5.3: an id given as "#" + creation id is replaced by the real id if one was created earlier
   * in the request (or was in the request's `createdIds`); undefined when it names no known creation. Ids
   * without "#" are returned as they are.
   */
  resolve(idOrReference: string): string | undefined {
    if (!idOrReference.startsWith('#')) return idOrReference;
    return this.map.get(idOrReference.slice(1));
  }

  /** RFC 8620 §3.4: the response's `createdIds` (only sent when the request carried one). */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.map);
  }
}
