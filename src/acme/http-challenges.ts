/**
 * The HTTP-01 answers of the challenges under way (RFC 8555 §8.3): token → key authorization, held in memory
 * while the CA validates and served by the HTTP application under /.well-known/acme-challenge/.
 */
export class HttpChallenges {
  private readonly answers = new Map<string, string>();

  set(token: string, keyAuthorization: string): void {
    this.answers.set(token, keyAuthorization);
  }

  remove(token: string): void {
    this.answers.delete(token);
  }

  keyAuthorization(token: string): string | null {
    return this.answers.get(token) ?? null;
  }
}
