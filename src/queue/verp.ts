/**
 * VERP (variable envelope return paths): `list-bounces+alice=example.org@lists.example.test` encodes the
 * recipient in the return path so a bounce names the failing address even when its content does not.
 */

export interface VerpOptions {
  /** Between the base local part and the encoded recipient (default '+'). */
  delimiter?: string;
}

/** encodeVerp('list-bounces@lists.example.test', 'alice@example.org') → 'list-bounces+alice=example.org@lists.example.test'. */
export function encodeVerp(returnPath: string, recipient: string, options: VerpOptions = {}): string {
  const delimiter = options.delimiter ?? '+';
  const at = returnPath.lastIndexOf('@');
  const rat = recipient.lastIndexOf('@');
  if (at <= 0 || rat <= 0) throw new Error('VERP needs two full addresses');
  return `${returnPath.slice(0, at)}${delimiter}${recipient.slice(0, rat)}=${recipient.slice(rat + 1)}${returnPath.slice(at)}`;
}

/**
 * Decodes a VERP address back into { base, recipient }; null when the address carries no VERP part.
 * The recipient domain never contains '=', so the last '=' separates local part and domain.
 */
export function decodeVerp(address: string, options: VerpOptions & { base?: string } = {}): { base: string; recipient: string } | null {
  const delimiter = options.delimiter ?? '+';
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  let baseLocal: string;
  if (options.base) {
    const bat = options.base.lastIndexOf('@');
    baseLocal = options.base.slice(0, bat);
    if (options.base.slice(bat + 1).toLowerCase() !== domain.toLowerCase()) return null;
    if (!local.toLowerCase().startsWith(baseLocal.toLowerCase() + delimiter)) return null;
  } else {
    const d = local.indexOf(delimiter);
    if (d <= 0) return null;
    baseLocal = local.slice(0, d);
  }
  const encoded = local.slice(baseLocal.length + delimiter.length);
  const eq = encoded.lastIndexOf('=');
  if (eq <= 0 || eq === encoded.length - 1) return null;
  const rdomain = encoded.slice(eq + 1);
  if (!/^[A-Za-z0-9.-]+$|^\[[^\]]+\]$/.test(rdomain)) return null;
  return { base: `${baseLocal}@${domain}`, recipient: `${encoded.slice(0, eq)}@${rdomain.toLowerCase()}` };
}
