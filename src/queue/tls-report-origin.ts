/**
 * The queue origin of TLS-RPT reports sent by mail: the queue delivers them without the recipient
 * domain's MTA-STS or DANE demands (RFC 8460 §5.3), so it must know them apart from other mail.
 */
export const TLSRPT_ORIGIN = 'tlsrpt';
