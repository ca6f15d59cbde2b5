/**
 * The configuration schema: the single source of every key, its type, default and doc text.
 * TOML keys are snake_case, code paths camelCase: `[limits] message_size` is `config.limits.messageSize`.
 * Sizes are bytes, durations milliseconds; docs/configuration.md is generated from this file.
 */
import { hostname as osHostname } from 'node:os';
import {
  booleanField, checkDnsServer, checkIpCidrOrDomain, checkIpOrCidr, checkZoneName, domainFlagsTableField, durationField, durationListField, enumField, integerField, listenField, hostPortField,
  numberField, optionalPathField, pathField, routeTableField, section, sizeField, sniTableField, stringField,
  stringListField, type Infer, type ValueContext, type SchemaEntry, type Field, type Section,
} from './fields.ts';
import { isHostName } from './values.ts';

export type { HostPort } from './values.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const schema = {
  hostname: stringField({
    default: () => osHostname(),
    defaultText: '(the machine\'s host name)',
    doc: 'Our host name: used in the SMTP greeting, EHLO, Received fields and generated Message-IDs.',
    check: (s) => (isHostName(s) ? null : `expected a host name such as "mx.example.org", got ${JSON.stringify(s)}`),
  }),
  postmaster: stringField({
    default: '',
    doc: 'Where mail to postmaster@ and abuse@ of every local domain and of `hostname`, and to `RCPT TO:<postmaster>`, goes (RFC 5321 §4.5.1, RFC 2142) when no user or alias of that name exists: a local or remote address. "": the oldest account on the server (the first one created). See operations.md.',
    check: (s) => (s === '' || /^[^@\s]+@[^@\s]+$/.test(s) ? null : `expected an address such as "admin@example.org" or "", got ${JSON.stringify(s)}`),
  }),
  dataDir: pathField({ default: './data', doc: 'Where the database, message bodies and the generated certificate are kept.' }),
  logFormat: enumField(['json', 'pretty'], { default: 'json', doc: 'Log lines as JSON (one object a line) or pretty for people. `--log-format` overrides it.' }),
  logLevel: enumField(LOG_LEVELS, { default: 'info', doc: 'Lowest level that is logged.' }),

  listen: section('Listening addresses, "host:port" (IPv6 as "[::1]:2525"). Any listener may be switched off with "" or false.', {
    smtp: listenField({ default: '127.0.0.1:2525', doc: 'SMTP for incoming mail (the MX role; port 25 in production).' }),
    submission: listenField({ default: '127.0.0.1:2587', doc: 'Message submission with STARTTLS (port 587 in production).' }),
    submissions: listenField({ default: '127.0.0.1:2465', doc: 'Message submission over implicit TLS (port 465 in production).' }),
    imap: listenField({ default: '127.0.0.1:2143', doc: 'IMAP with STARTTLS (port 143 in production).' }),
    imaps: listenField({ default: '127.0.0.1:2993', doc: 'IMAP over implicit TLS (port 993 in production).' }),
    pop3: listenField({ default: '127.0.0.1:2110', doc: 'POP3 with STLS (port 110 in production).' }),
    pop3s: listenField({ default: '127.0.0.1:2995', doc: 'POP3 over implicit TLS (port 995 in production).' }),
    http: listenField({ default: '127.0.0.1:8080', doc: 'HTTP without TLS: JMAP (`/.well-known/jmap`, `/jmap/...`), `/healthz` and `/readyz`, for loopback clients and a reverse proxy (see `[http] trusted_proxies`). Credentials are accepted on it only from loopback with `auth.allow_plaintext_on_loopback`, or through a trusted proxy that terminated TLS.' }),
    https: listenField({ default: '127.0.0.1:8443', doc: 'HTTPS with the certificates of `[tls]` (SNI, reloaded on SIGHUP): the same routes as `http` (port 443 in production).' }),
  }),

  tls: section('TLS certificates. Without cert and key a self-signed certificate is made in data_dir at first start.', {
    cert: optionalPathField({ doc: 'PEM certificate chain file. Reloaded when the file changes or on SIGHUP.' }),
    key: optionalPathField({ doc: 'PEM private key file for `cert`.' }),
    sni: sniTableField({ doc: 'Per-domain certificates chosen by SNI: `[tls.sni."example.org"]` with `cert` and `key`.' }),
    imapsSmallBuffers: booleanField({ default: true, doc: 'The imaps listener (implicit TLS) reads each connection through a stream, so Node keeps a ~1 KB TLS input buffer instead of 64 KB for the connection\'s life: an idle IMAP connection holds ~25 KB instead of ~90 KB. It costs server CPU on bulk transfers over TLS (FETCH of 250 MB of bodies: ~25 % more). false: Node\'s native TLS path. IMAP after STARTTLS always uses the native path (docs/performance.md, "Memory per idle connection").' }),
  }),

  acme: section('Certificates obtained and renewed from an ACME CA (RFC 8555), Let\'s Encrypt by default: for `hostname` (and `names`), and for the mta-sts. and autoconfig. names of each hosted domain; the challenges are answered by the http (HTTP-01) and https (TLS-ALPN-01) listeners, which must be reachable on ports 80 and 443. Every listener uses a new certificate at once. docs/tls.md.', {
    enabled: booleanField({ default: false, doc: 'Obtain and renew certificates by ACME. The certificate for `hostname` then replaces `[tls] cert` (and the self-signed one) once obtained.' }),
    directoryUrl: stringField({ default: 'https://acme-v02.api.letsencrypt.org/directory', check: (s) => (/^https:\/\/\S+$/.test(s) ? null : `expected an https:// URL, got ${JSON.stringify(s)}`), doc: 'The ACME directory of the CA (Let\'s Encrypt staging: "https://acme-staging-v02.api.letsencrypt.org/directory").' }),
    contact: stringField({ default: '', check: (s) => (s === '' || /^[^@\s]+@[^@\s]+$/.test(s) ? null : `expected an address such as "admin@example.org" or "", got ${JSON.stringify(s)}`), doc: 'Address the CA may write to about the certificates (expiry, problems); "" gives none.' }),
    termsAgreed: booleanField({ default: false, doc: 'That you agree to the CA\'s terms of service (Let\'s Encrypt: its Subscriber Agreement); required with `enabled`.' }),
    names: stringListField({ default: [], check: (s) => (isHostName(s) ? null : `expected a host name, got ${JSON.stringify(s)}`), doc: 'More names for the certificate of `hostname` (e.g. "mail.example.org").' }),
    domainNames: booleanField({ default: true, doc: 'Also obtain, for each hosted domain, a certificate for mta-sts.<domain> (with `[mta_sts_policy]` on) and autoconfig.<domain> (with the https listener on); these names must point at this server.' }),
    challenges: stringListField({ default: ['tls-alpn-01', 'http-01'], check: (s) => (s === 'tls-alpn-01' || s === 'http-01' ? null : `expected "tls-alpn-01" or "http-01", got ${JSON.stringify(s)}`), doc: 'Challenge types in order of preference: "tls-alpn-01" (answered on the https listener, RFC 8737) and "http-01" (on the http listener, under /.well-known/acme-challenge/).' }),
    keyType: enumField(['ecdsa', 'rsa'], { default: 'ecdsa', doc: 'Key of the certificates: ECDSA P-256 or RSA 2048 (for old clients).' }),
    renewBefore: durationField({ default: '30d', doc: 'Renew a certificate this long before it expires.' }),
    retryMin: durationField({ default: '10m', doc: 'After a failed order, the first wait before the next; it doubles with each failure up to `retry_max`. Also the least time between two orders for the same names.' }),
    retryMax: durationField({ default: '1d', doc: 'The longest wait between failed orders.' }),
    caFile: optionalPathField({ doc: 'PEM file of the CAs to trust for the directory\'s HTTPS (a private ACME CA, tests); "" uses the system\'s.' }),
  }),

  mtaStsPolicy: section('Our own MTA-STS policy (RFC 8461 §3.2), served at https://mta-sts.<domain>/.well-known/mta-sts.txt for every hosted domain; `postamt dns` prints the `_mta-sts` record whose id follows the policy. docs/tls.md.', {
    mode: enumField(['off', 'none', 'testing', 'enforce'], { default: 'off', doc: 'The policy mode: "enforce" (senders that obey MTA-STS deliver only over TLS to the MX hosts below), "testing" (they only report failures, RFC 8460), "none" (withdraws a policy); "off" serves no policy at all.' }),
    maxAge: durationField({ default: '7d', doc: 'How long senders may cache the policy (max_age, RFC 8461 §3.2; at most 31557600 seconds). Raise it (e.g. "180d") once enforce works.' }),
    mx: stringListField({ default: [], check: (s) => (/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(s) ? null : `expected an MX host name or "*.example.org", got ${JSON.stringify(s)}`), doc: 'The MX host names (or "*.example.org" patterns) the policy allows; [] is `hostname` alone.' }),
  }),

  limits: section('Limits that bound every buffer and connection.', {
    messageSize: sizeField({ default: 25 * MiB, doc: 'Largest message accepted (SMTP SIZE, RFC 1870); bigger ones get 552 5.3.4.' }),
    recipients: integerField({ default: 100, min: 1, doc: 'Recipients per SMTP transaction; more get 452 4.5.3.' }),
    lineLength: integerField({ default: 64 * KiB, min: 1000, max: 16 * MiB, doc: 'Longest text line accepted in a message, in octets with CRLF (one such line is held per connection); longer get 552 5.3.4. RFC 5321 §4.5.3.1.6 sets 1000 as the least a server must take and lets it take more; real senders (web forms, scripts, HTML mailers) exceed it. What Postamt writes itself keeps to 998 (RFC 5322 §2.1.1).' }),
    commandLineLength: integerField({ default: 512, min: 512, doc: 'Longest SMTP command line, in octets with CRLF (RFC 5321 §4.5.3.1.4); longer get 500 5.5.2.' }),
    connectionsPerIp: integerField({ default: 20, min: 1, doc: 'Simultaneous connections from one client IP (all protocols); more get 421 4.7.0.' }),
    connectionsPerNetwork: integerField({
      default: 100, min: 1,
      doc: 'Simultaneous connections from one client network, IPv4 /24 or IPv6 /64 (all protocols); more get 421 4.7.0. Never below connections_per_ip.',
    }),
    connectionsTotal: integerField({
      default: 1000, min: 1,
      doc: 'Simultaneous connections in total. When all are taken, the oldest idle connection without a login or a transaction under way is closed to make room for a new one; only when there is none is the new one refused.',
    }),
    loginTimeout: durationField({
      default: '60s',
      doc: 'Idle time allowed before login on IMAP, POP3 and submission (at most their own idle timeout); the MX keeps smtp_command_timeout.',
    }),
    smtpCommandTimeout: durationField({ default: '5m', doc: 'Idle time allowed between SMTP commands (RFC 5321 §4.5.3.2.7).' }),
    smtpDataTimeout: durationField({ default: '10m', doc: 'Idle time allowed while receiving message data (RFC 5321 §4.5.3.2.6 uses 3m per block; we wait longer).' }),
    imapIdleTimeout: durationField({ default: '30m', doc: 'Idle time before an IMAP connection is closed (RFC 9051 §5.4: at least 30 minutes).' }),
    pop3IdleTimeout: durationField({ default: '10m', doc: 'Idle time before a POP3 connection is closed (RFC 1939 §3: at least 10 minutes).' }),
    imapLiteralSize: sizeField({ default: 50 * MiB, doc: 'Largest IMAP literal (APPEND); bigger ones are refused.' }),
    imapPreauthLiteralSize: sizeField({ default: 8 * KiB, doc: 'Literals of one IMAP command before login (LOGIN arguments), in total; bigger ones get BAD [TOOBIG] before any byte is read.' }),
    imapCommandSize: sizeField({ default: 64 * KiB, doc: 'Largest IMAP command line without its literals.' }),
    imapAppendMessages: integerField({ default: 20, min: 1, max: 1000, doc: 'Messages in one IMAP APPEND (MULTIAPPEND, RFC 3502); one more gets NO [LIMIT]. Each message being received holds up to 1 MiB in memory before it spills to a temp file.' }),
    imapHeaderCacheSize: sizeField({ default: 32 * MiB, doc: 'Memory for the header fields IMAP clients fetch to fill a message list (BODY.PEEK[HEADER.FIELDS (...)]), kept per field list in blocks of 256 messages and shared by every session; the least recently used blocks go first.' }),
    imapMetadataEntries: integerField({ default: 100, min: 1, max: 100_000, doc: 'IMAP METADATA entries (RFC 5464) on one mailbox, or on the server, per account; SETMETADATA beyond it gets NO [METADATA TOOMANY].' }),
    imapNotifyPending: integerField({ default: 1000, min: 1, max: 1_000_000, doc: 'IMAP NOTIFY (RFC 5465): notifications one session may hold undelivered (mailboxes with changes, METADATA entry names) while a command runs; one more ends its NOTIFY with OK [NOTIFICATIONOVERFLOW] (RFC 5465 §5.8).' }),
    imapMetadataSize: sizeField({ default: 64 * KiB, doc: 'Largest IMAP METADATA value (RFC 5464); a bigger one gets NO [METADATA MAXSIZE n].' }),
    mailboxesPerAccount: integerField({ default: 10_000, min: 10, doc: 'Mailboxes one account may have; CREATE beyond it (implied parents included) gets NO [LIMIT].' }),
    mailboxDepth: integerField({ default: 32, min: 2, doc: 'Levels of a mailbox name (`a/b/c` has 3); deeper CREATE or RENAME gets NO [LIMIT].' }),
    maxErrors: integerField({ default: 20, min: 1, doc: 'Protocol errors in one session before the server closes it.' }),
    mimeDepth: integerField({ default: 32, min: 1, doc: 'Deepest MIME nesting parsed (IMAP BODYSTRUCTURE, policy checks).' }),
    mimeParameters: integerField({ default: 128, min: 8, doc: 'Parameters read from one Content-Type or Content-Disposition field (RFC 2231 continuations count one each); the rest are ignored (IMAP BODYSTRUCTURE, SEARCH).' }),
    headerSize: sizeField({ default: 1 * MiB, doc: 'Largest header section of a received message (SMTP); bigger ones get 552 5.3.4 before any parser sees them.' }),
    headerLines: integerField({ default: 10_000, min: 100, doc: 'Most lines (folded continuation lines included) in the header section of a received message (SMTP); more get 552 5.3.4.' }),
    inflightMessageBytes: sizeField({ default: 512 * MiB, doc: 'Bytes of all messages being received at once (SMTP DATA/BDAT, IMAP APPEND), in memory or spooled; past it new data gets 452 4.3.1 (SMTP) or NO [LIMIT] (IMAP). Keep it above message_size.' }),
    checkWorkers: integerField({ default: 2, min: 1, doc: 'Worker threads that run the CPU-heavy checks of received messages (SPF/DKIM/DMARC/ARC, DKIM signing, ARC sealing) off the event loop; each started one holds about 60 MB.' }),
    checkTimeout: durationField({ default: '2m', doc: 'Longest time the checks of one message may take; past it the worker is replaced and the message gets 451 4.7.0.' }),
  }),

  auth: section('Authentication and brute-force protection (shared by SMTP, IMAP and POP3).', {
    maxFailuresPerIp: integerField({ default: 10, min: 1, doc: 'Failed logins from one IP within failure_window before it gets 454 4.7.0 and a delay.' }),
    maxFailuresPerAccount: integerField({ default: 20, min: 1, doc: 'Failed logins for one account within failure_window before further attempts are refused.' }),
    failureWindow: durationField({ default: '15m', doc: 'How long a failed login counts.' }),
    penaltyDelay: durationField({ default: '2s', doc: 'Delay before answering a failed or refused login.' }),
    minPasswordLength: integerField({ default: 8, min: 1, doc: 'Shortest password, in characters, that `user add` and `user passwd` accept (NIST SP 800-63B §5.1.1.2 asks for at least 8).' }),
    scramIterations: integerField({
      default: 600_000, min: 4096, max: 1_000_000,
      doc: 'PBKDF2 rounds of the SCRAM-SHA-256 keys made for new users (RFC 7677 §4: at least 4096; 600,000 is OWASP\'s advice for PBKDF2-SHA256). The client pays them at each SCRAM login (~0.2 s), the server only when a password is set (on the password-hash threads); existing users keep the count they were made with.',
    }),
    allowPlaintextOnLoopback: booleanField({ default: false, doc: 'Allow PLAIN/LOGIN without TLS on connections from 127.0.0.1 and ::1.' }),
    hashThreads: integerField({ default: 0, min: 0, max: 64, doc: 'Threads that check login passwords (scrypt, ~30 ms each) and hash new ones (scrypt and the SCRAM keys\' PBKDF2), apart from the threads that read files and sync the database; work beyond that many at once waits its turn. 0: one per CPU.' }),
    hashPriority: integerField({ default: 10, min: 0, max: 19, doc: 'Niceness (Linux) of the password-checking threads: above 0 the sessions already open (their reads, writes and disk syncs) are served first when the CPU is short, and logins wait. 0: same priority as the rest of the server.' }),
    verifiedCacheTtl: durationField({
      default: '5m',
      doc: 'How long a password that proved right is trusted without a new hash check when the same user logs in with it again (clients that reconnect often). Only a keyed hash of it is held in memory, next to the stored hash it matched, so a changed password or a removed app password is never accepted from the cache; wrong passwords are always checked in full and the brute-force limits are unchanged. "0s" turns it off.',
    }),
  }),

  http: section('The HTTP server (JMAP, health checks): limits, slow clients, reverse proxies and CORS. The JMAP limits are announced in the Session resource (RFC 8620 §2).', {
    maxRequestSize: sizeField({ default: 10 * MiB, doc: 'Largest JMAP API request body (maxSizeRequest); bigger ones get a `limit` problem (RFC 8620 §3.6.1) before the body is read.' }),
    maxUploadSize: sizeField({ default: 50 * MiB, doc: 'Largest blob upload (maxSizeUpload, RFC 8620 §6.1); bigger ones get 413 before the body is stored.' }),
    maxJsonDepth: integerField({ default: 64, min: 8, max: 1000, doc: 'Deepest nesting of arrays and objects in a JMAP request; deeper ones get a `limit` problem before anything walks them.' }),
    maxCallsInRequest: integerField({ default: 16, min: 1, max: 1000, doc: 'Method calls in one JMAP request (maxCallsInRequest); more get a `limit` problem.' }),
    maxObjectsInGet: integerField({ default: 500, min: 1, max: 100_000, doc: 'Objects one /get may return (maxObjectsInGet); asking for more gets `requestTooLarge`.' }),
    maxObjectsInSet: integerField({ default: 500, min: 1, max: 100_000, doc: 'Creates, updates and destroys in one /set (maxObjectsInSet); more get `requestTooLarge`.' }),
    maxConcurrentRequests: integerField({ default: 4, min: 1, max: 1000, doc: 'JMAP API requests one user may have in flight at once (maxConcurrentRequests); one more gets a `limit` problem.' }),
    maxConcurrentUploads: integerField({ default: 4, min: 1, max: 1000, doc: 'Uploads one user may have in flight at once (maxConcurrentUpload); one more gets 429.' }),
    pushSubscriptions: integerField({ default: 10, min: 1, max: 1000, doc: 'JMAP push subscriptions (RFC 8620 §7.2) one login credential may hold; one more is refused with `overQuota`.' }),
    pushMaxExpiry: durationField({ default: '7d', doc: 'Longest life of a JMAP push subscription: a later `expires` asked for is shortened to this (the client is told); expired ones are removed.' }),
    pushAllowedNetworks: stringListField({ default: [], check: checkIpOrCidr, doc: 'Loopback, private or link-local networks (IPs, CIDR blocks) JMAP push subscriptions may post to anyway. A push URL whose host resolves to any other such address is refused (when subscribing and at every connection), so a user cannot make the server reach internal hosts.' }),
    pushMaxFailures: integerField({ default: 5, min: 1, max: 100, doc: 'Failed attempts in a row (timeouts, errors, 429, 5xx; with growing back-off) after which a push subscription\'s pending state change is dropped; the next change tries again.' }),
    maxPushConnections: integerField({ default: 20, min: 1, max: 10_000, doc: 'Open push connections (EventSource and WebSocket) per user; one more gets 429.' }),
    connectionsPerIp: integerField({ default: 100, min: 1, doc: 'Simultaneous HTTP connections from one client IP (trusted proxies are not limited); more are closed at once. `limits.connections_total` bounds all of them.' }),
    headerTimeout: durationField({ default: '20s', doc: 'Time a client has to send the request line and headers; slower ones are cut off with 408.' }),
    requestTimeout: durationField({ default: '2m', doc: 'Time a client has to send a whole request, body included (uploads too); slower ones are cut off.' }),
    idleTimeout: durationField({ default: '30s', doc: 'How long an idle keep-alive connection stays open between requests.' }),
    uploadExpiry: durationField({ default: '24h', doc: 'How long an uploaded blob is kept (RFC 8620 §6.1 asks for at least 1 hour); expired ones are deleted.' }),
    tokenLifetime: durationField({ default: '12h', doc: 'How long a Bearer token issued for a login session (the webmail) is valid.' }),
    trustedProxies: stringListField({
      default: [], check: checkIpOrCidr,
      doc: 'Reverse proxies (IPs, CIDR blocks) whose X-Forwarded-For and X-Forwarded-Proto are believed: the client address (logs, brute-force limits) and whether it used TLS. Credentials through a proxy are accepted when it says the client used https.',
    }),
    publicUrl: stringField({
      default: '',
      doc: 'The URL clients reach the server at, e.g. "https://mail.example.org" (the Session resource\'s apiUrl, uploadUrl, downloadUrl and eventSourceUrl start with it); "" uses the scheme and Host of each request.',
      check: (s) => (s === '' || /^https?:\/\/[^/?#\s]+$/.test(s) ? null : `expected "https://host[:port]" without a path, or "", got ${JSON.stringify(s)}`),
    }),
    corsOrigins: stringListField({
      default: [],
      check: (s) => (/^https?:\/\/[^/?#\s]+$/.test(s) ? null : `expected an origin such as "https://app.example.org", got ${JSON.stringify(s)}`),
      doc: 'Origins (scheme://host[:port]) whose web pages may call the API from a browser (CORS); [] allows none, so only pages served by Postamt itself can.',
    }),
  }),

  submission: section('Message submission (RFC 6409).', {
    rateMessagesPerHour: integerField({ default: 500, min: 1, doc: 'Messages one user may send per hour; more get 451 4.7.1. Nodes sharing a PostgreSQL store count them together.' }),
    rateRecipientsPerHour: integerField({ default: 2000, min: 1, doc: 'Recipients one user may send to per hour; more get 451 4.7.1. Nodes sharing a PostgreSQL store count them together.' }),
    maxSenderAddresses: integerField({ default: 100, min: 1, max: 10_000, doc: 'Addresses a submitted message may list in its From: and Sender: fields together; every one must be an address the user may send as, and a message listing more is refused with 550 5.7.1.' }),
    receivedHeader: enumField(['full', 'minimal', 'none'], {
      default: 'full',
      doc: 'The Received field added to submitted mail: "full" shows client IP and HELO; "minimal" only our host and the protocol; "none" adds none.',
    }),
    maxDelayedSend: durationField({
      default: '1d',
      doc: 'Longest delay of a delayed send (JMAP EmailSubmission sendAt with the envelope\'s HOLDFOR/HOLDUNTIL, RFC 4865 FUTURERELEASE; the webmail\'s undo send): the message waits in the queue, held, and may be canceled until then. Announced as maxDelayedSend (RFC 8621 §1.3.2); a later release gets 554 5.3.4. "0s" offers no delayed send.',
    }),
    identities: integerField({ default: 100, min: 1, max: 10_000, doc: 'Identities (JMAP Identity, RFC 8621 §6: addresses to send as, with name and signatures) one account may have, its own address included; one more gets overQuota.' }),
    signatureSize: integerField({ default: 64 * 1024, min: 256, max: 10_000_000, doc: 'Longest text or HTML signature of an identity, in characters; a longer one is refused as invalidProperties.' }),
  }),

  vacation: section('Vacation responses (JMAP VacationResponse, RFC 8621 §8): the automatic replies sent while one is enabled.', {
    replyPeriod: durationField({ default: '7d', doc: 'A sender gets at most one vacation reply per account in this period (RFC 3834 §2, the "days" of RFC 5230 §4.1, whose default is 7 days); a new vacation text answers again.' }),
  }),

  queue: section('The outbound queue: retries, expiry, concurrency and routing.', {
    retrySchedule: durationListField({ default: ['1m', '5m', '15m', '30m', '1h', '2h', '4h'], doc: 'Delays between attempts (with jitter); the last one repeats until max_age.' }),
    maxAge: durationField({ default: '5d', doc: 'A message not delivered after this long is bounced.' }),
    delayWarning: durationField({ default: '4h', canDisable: true, doc: 'Send a delay notice (DSN "delayed") after this long; "" switches it off.' }),
    concurrency: integerField({ default: 50, min: 1, doc: 'Outbound SMTP connections in total.' }),
    perDestinationConcurrency: integerField({ default: 20, min: 1, doc: 'Outbound SMTP connections to one destination (Postfix: default_destination_concurrency_limit = 20).' }),
    destinationBackoff: durationField({ default: '60s', max: '1h', doc: 'When no host of a destination (a recipient domain, or the relayhost) could be reached, the message that tried counts an attempt, and other mail to that destination, waiting or new, is left alone this long: it keeps its place in the queue without an attempt being counted, so a dead domain does not take the connections of the others (like Postfix\'s dead destinations). An explicit retry (`postamt queue retry`, the web admin\'s retry) lifts it for the destinations of the mail it retries. At most "1h"; "0s" tries every message.' }),
    connectionCacheTime: durationField({ default: '2s', doc: 'How long an outbound connection with nothing left to send waits for the next message to the same destination before it says QUIT (Postfix: smtp_connection_cache_time_limit = 2s); "0s" closes at once.' }),
    deliveryThreads: integerField({ default: 1, min: 0, max: 16, doc: 'Worker threads that run outbound SMTP sessions (connect, body read, dot-stuffing, socket writes) beside the main thread, which keeps claims and results; spawned at the first outbound connection; 0 runs the sessions on the main thread. PostgreSQL stores always run them on the main thread. Connections whose TLS a DANE or MTA-STS policy checks stay on the main thread.' }),
    relayhost: hostPortField({ default: '', defaultPort: 25, doc: 'Send all outbound mail through this smarthost ("host" or "host:port"); "" delivers by MX.' }),
    relayhostTls: enumField(['starttls', 'implicit', 'none'], { default: 'starttls', doc: 'TLS towards the relayhost.' }),
    relayhostUsername: stringField({ default: '', doc: 'SASL user name for the relayhost ("" for none).' }),
    relayhostPassword: stringField({ default: '', doc: 'SASL password for the relayhost. Prefer the environment variable to the file.' }),
    portOverride: integerField({ default: 0, max: 65535, doc: 'Connect to this port instead of 25 on every MX (tests); 0 for none.' }),
    tlsPolicy: enumField(['opportunistic', 'required', 'none'], { default: 'opportunistic', doc: 'STARTTLS towards MX hosts: use when offered, insist on it, or never.' }),
    maxHops: integerField({ default: 50, min: 1, doc: 'Messages with more Received fields than this are bounced as a loop (RFC 5321 §6.3).' }),
    leaseTime: durationField({ default: '60s', doc: 'How long a node holds a queued recipient it is attempting without renewing the claim (renewed every third of it). Nodes sharing a PostgreSQL store never attempt one recipient at the same time; a dead node\'s recipients are taken over this long after it died.' }),
    routes: routeTableField({ defaultPort: 25, doc: 'Per-domain next hops: `"example.org" = "mx.example.org:2525"` (like Postfix transport_maps).' }),
  }),

  outboundTls: section('TLS policies for delivery to MX hosts: MTA-STS (RFC 8461) and DANE (RFC 7672); docs/tls.md.', {
    mtaSts: booleanField({ default: true, doc: 'Look up and obey the recipient domain\'s MTA-STS policy: in `enforce` mode mail goes only to the MX hosts it names, over TLS with a certificate valid for the MX name, or waits in the queue.' }),
    daneResolver: stringField({
      default: '',
      check: (s) => (s === '' ? null : checkDnsServer(s)),
      doc: 'A DNSSEC-validating resolver ("127.0.0.1:53", e.g. a local unbound) whose AD bit is trusted for DANE\'s lookups (the MX RRset, the MX host\'s addresses and its TLSA records, docs/outbound-tls.md); with it DANE is on (as Postfix\'s smtp_dns_support_level = dane) and `postamt doctor` checks our TLSA records. Only a resolver on a trusted path (loopback) should be named. "" switches DANE off.',
    }),
    daneCacheMaxTtl: durationField({ default: '1d', doc: 'Longest time an answer of the DANE resolver (MX, A/AAAA, TLSA) is reused without asking again; answers are otherwise kept for their own DNS TTL (RFC 2181 §5.2), as MX lookups and MTA-STS policies are. "0s" asks every time.' }),
    daneCacheNegativeTtl: durationField({ default: '60s', doc: 'How long the DANE resolver\'s answer that a name has no such records (NXDOMAIN, NODATA; e.g. no TLSA) is reused (RFC 2308). Failed lookups (SERVFAIL, timeouts) are never reused.' }),
    daneCacheEntries: integerField({ default: 10000, min: 0, max: 10_000_000, doc: 'Answers of the DANE resolver kept in memory; the oldest go first. 0 turns the cache off.' }),
    mtaStsFetchTimeout: durationField({ default: '20s', doc: 'Time allowed to fetch an MTA-STS policy over HTTPS (RFC 8461 §3.3); a slower host counts as no policy (or the cached one).' }),
    mtaStsPort: integerField({ default: 443, min: 1, max: 65535, doc: 'Port of mta-sts.<domain> for policy fetches (443; tests use their own).' }),
    caFile: optionalPathField({ doc: 'PEM file of extra trust anchors, beside the system\'s, for MTA-STS policy hosts and MX certificates (a private PKI, tests).' }),
  }),

  reports: section('TLS-RPT (RFC 8460) and DMARC (RFC 7489 §7) reports: what Postamt records, sends once a day, and reads.', {
    tlsrpt: booleanField({ default: true, doc: 'Record the result of every outbound TLS negotiation (data_dir/reports) and send the daily aggregate report to domains that publish a `_smtp._tls` rua: by mail to mailto: addresses, POSTed to https: URLs (retried on `queue.retry_schedule` until `queue.max_age`).' }),
    httpsTimeout: durationField({ default: '30s', doc: 'Longest wait for an https: TLS-RPT endpoint to answer a POST; past it the attempt counts as failed and is retried.' }),
    dmarc: booleanField({ default: true, doc: 'Record the DMARC result of mail received and send the daily aggregate report to domains whose DMARC record asks for one (rua), after the external-destination check of RFC 7489 §7.1.' }),
    from: stringField({ default: '', doc: 'From address of the reports we send; "" is postmaster@`hostname`.' }),
    organization: stringField({ default: '', doc: 'Our organization name in the reports; "" is `hostname`.' }),
    tlsrptAddress: stringField({ default: '', doc: 'Local address whose INBOX receives TLS-RPT reports: the rua `postamt dns` and the admin UI print in each domain\'s `_smtp._tls` record ("" is postmaster@<domain>); `postamt tlsrpt report` and the admin UI\'s Reports page read it.' }),
    dmarcAddress: stringField({ default: '', doc: 'Local address whose INBOX receives DMARC aggregate reports: the rua printed in each domain\'s `_dmarc` record ("" is postmaster@<domain>); `postamt dmarc report` and the admin UI\'s Reports page read it.' }),
  }),

  dns: section('DNS resolution.', {
    servers: stringListField({ default: [], check: checkDnsServer, doc: 'Resolvers as IP or IP:port; [] uses the system resolvers.' }),
    timeout: durationField({ default: '5s', doc: 'Timeout per DNS query.' }),
  }),

  storage: section('Storage.', {
    backend: enumField(['sqlite', 'postgres'], {
      default: 'sqlite',
      doc: 'Storage backend: `sqlite` (embedded, in data_dir) or `postgres` (a PostgreSQL database at storage.url, which several nodes can share; docs/operations.md).',
    }),
    url: stringField({
      default: '',
      doc: 'PostgreSQL connection URL when backend = "postgres", e.g. `postgres://postamt@db.internal/postamt` (password in the URL, in ~/.pgpass or in PGPASSWORD; prefer the environment variable to the file).',
      check: (s) => (s === '' || /^postgres(ql)?:\/\//.test(s) ? null : 'must start with postgres:// or postgresql://'),
    }),
    poolSize: integerField({ default: 10, min: 1, max: 1000, doc: 'PostgreSQL connections per process (beside one for LISTEN); commits of many deliveries share one of them (group commit).' }),
    statementTimeout: durationField({ default: '30s', doc: 'PostgreSQL statement_timeout of every connection: a statement running longer is cancelled and the operation fails with a temporary error.' }),
    quotaDefault: sizeField({ default: 1 * GiB, doc: 'Mailbox quota of accounts without their own (`user add --quota`); 0 is unlimited.' }),
    changePollInterval: durationField({
      default: '100ms',
      doc: 'How often the server looks for changes other processes made to the store (the CLI, a second server): new mail for IDLE, queue retries, account changes. An idle look costs no disk read.',
    }),
  }),

  metrics: section('The Prometheus metrics endpoint, `/metrics` on the http and https listeners (docs/operations.md lists the metrics).', {
    enabled: booleanField({ default: true, doc: 'Serve `/metrics`; false answers 404.' }),
    token: stringField({
      default: '',
      doc: 'Bearer token every scraper must send (`Authorization: Bearer <token>`), from loopback too; "" needs none. Prefer the environment variable POSTAMT_METRICS_TOKEN to the file.',
    }),
    loopbackOnly: booleanField({
      default: true,
      doc: 'Serve `/metrics` only to clients on loopback (127.0.0.0/8, ::1; behind a trusted proxy, the client it names); others get 403. false serves every client that sends `token`; without a token it stays loopback only.',
    }),
  }),

  search: section('The search index of JMAP Email/query\'s text conditions and of the webmail\'s list rows, filled in the background after messages are stored (docs/decisions/0011). A query reads messages the index does not hold yet, so results never wait for it.', {
    index: booleanField({ default: true, doc: 'Keep the search index. Off: every text search reads and parses the messages it looks at, and list rows are parsed for their preview.' }),
    indexDelay: durationField({ default: '200ms', doc: 'How long the indexer waits after new mail before it indexes, so messages arriving together are indexed in one batch.' }),
    indexBatch: integerField({ default: 50, min: 1, max: 1000, doc: 'Messages indexed per write; the indexer yields to other work between batches.' }),
    indexBusyUtilization: numberField({ default: 0.5, doc: 'Between 0 and 1. While the share of time the server\'s event loop is working exceeds this (a burst of deliveries), the indexer waits: indexing never slows acceptance down. Mail arriving within the last second counts as busy too. 1 never waits.' }),
    indexBusyWait: durationField({ default: '10s', doc: 'While the server is busy, one batch of at most 10 messages is still indexed this often (the least indexing rate), so the index keeps up under a long load.' }),
  }),

  trace: section('The message trace: a timeline of every message received or refused, kept in the store and shown by `postamt trace` (docs/operations.md).', {
    enabled: booleanField({ default: true, doc: 'Record the trace. Events of an accepted message are written in the transaction that stores it; the others in batches.' }),
    retention: durationField({ default: '30d', doc: 'How long trace events are kept; older ones are deleted hourly.' }),
  }),

  policy: section('Inbound policy (the MX side): SPF, DKIM, DMARC, greylisting, DNS block and allow lists, client checks, rate limits, the spam score, and SRS / ARC for forwarded mail.', {
    spfRejectFail: booleanField({ default: false, doc: 'Refuse mail whose SPF result is fail (otherwise it only adds to the spam score).' }),
    dmarcEnforce: booleanField({ default: true, doc: 'Apply the sender domain\'s DMARC policy (reject / quarantine to Junk).' }),
    greylisting: booleanField({ default: false, doc: 'Greylist unknown (client IP, sender, recipient) triplets with 451 4.7.1.' }),
    greylistDelay: durationField({ default: '5m', doc: 'A greylisted triplet retried sooner than this is refused again (RFC 6647).' }),
    greylistRetryWindow: durationField({ default: '2d', doc: 'A greylisted triplet not retried within this time starts over.' }),
    greylistWhitelist: stringListField({
      default: [], check: checkIpCidrOrDomain,
      doc: 'Never greylisted: client IPs and CIDR blocks, and domains (matching the sender domain or the verified client host name and its subdomains).',
    }),
    dnsblZones: stringListField({ default: [], check: checkZoneName, doc: 'DNS block lists to query, e.g. ["zen.spamhaus.org"]; each hit adds dnsbl_score to the spam score.' }),
    dnsblScore: numberField({ default: 4, doc: 'Spam score a listing on one DNS block list adds.' }),
    dnswlZones: stringListField({ default: [], check: checkZoneName, doc: 'DNS allow lists to query, e.g. ["list.dnswl.org"]; each hit subtracts 2 from the spam score.' }),
    dnsTimeout: durationField({ default: '3s', doc: 'Timeout of each DNS list, FCrDNS and HELO lookup made by the spam checks; no answer in time counts as not listed.' }),
    trustedNetworks: stringListField({
      default: ['127.0.0.0/8', '::1'], check: checkIpOrCidr,
      doc: 'Client IPs and CIDR blocks that skip every inbound check and rate limit (monitoring, internal relays).',
    }),
    rateConnectionsPerIp: integerField({ default: 60, doc: 'New connections per minute from one client IP; more get 421 4.7.0. 0 is no limit.' }),
    rateConnectionsPerNetwork: integerField({ default: 300, doc: 'New connections per minute from one client network (IPv4 /24, IPv6 /64); more get 421 4.7.0. 0 is no limit.' }),
    rateMessagesPerIp: integerField({ default: 120, doc: 'Messages (MAIL commands) per hour from one client IP; more get 451 4.7.1. 0 is no limit.' }),
    rateMessagesPerNetwork: integerField({ default: 600, doc: 'Messages (MAIL commands) per hour from one client network (IPv4 /24, IPv6 /64); more get 451 4.7.1. 0 is no limit.' }),
    fcrdns: booleanField({ default: true, doc: 'Score clients without forward-confirmed reverse DNS (iprev, RFC 8601 §2.7.3): no PTR, or a PTR name that does not resolve back.' }),
    heloChecks: booleanField({ default: true, doc: 'Score implausible HELO names: a bare IP, a mismatching address literal, no dot, our own name, or a name that does not resolve.' }),
    spamJunkScore: numberField({ default: 5, doc: 'Spam score at or above which a message is delivered to Junk.' }),
    spamRejectScore: numberField({ default: 15, doc: 'Spam score at or above which a message is refused (550 5.7.1); inf switches it off.' }),
    spamShadow: booleanField({ default: false, doc: 'Shadow mode for the spam score: score every message and record the score, the verdict the thresholds would give and the rules that scored in the message trace and the log, but neither refuse nor file in Junk by score (and add no X-Spam-Status field): for trying thresholds on live mail. DMARC policies still apply.' }),
    srs: booleanField({ default: true, doc: 'Rewrite the envelope sender of mail forwarded off-site with SRS, so the next hop\'s SPF check sees our hostname and its bounces come back to us, to be reversed to the original sender; false sends forwarded mail with the original envelope sender.' }),
    srsSecret: stringField({
      default: '',
      doc: 'Secret that signs SRS addresses; "" uses one generated at first start in data_dir/srs-secret (copy it here on every MX host that must accept the same bounces). Prefer the environment variable POSTAMT_POLICY_SRS_SECRET to the file. Changing it breaks bounces to addresses already rewritten.',
    }),
    arcSeal: booleanField({ default: false, doc: 'ARC-seal (RFC 8617) messages forwarded off-site, so the next hop can trust our authentication results.' }),
    domains: domainFlagsTableField({
      spfRejectFail: 'overrides spf_reject_fail.',
      dmarcReject: 'refuse mail under a DMARC p=reject policy with 550 5.7.1 (false: such mail goes to Junk).',
      greylisting: 'overrides greylisting.',
      spamFilter: 'score mail for spam (false: never Junk or refuse it by score).',
    }, {
      doc: 'Per recipient domain overrides, `[policy.domains."example.org"]`; every key is optional, true or false, and a missing one keeps the setting above. A message for several domains is refused only if all of them refuse it.',
    }),
  }),
} satisfies Record<string, SchemaEntry>;

export type Schema = typeof schema;
export type Config = Infer<Schema>;

export function isSection(entry: SchemaEntry): entry is Section<Record<string, Field<unknown>>> {
  return entry.kind === 'section';
}

/** The built-in configuration; relative paths resolve against `cwd` (default: the process's). */
export function defaultConfig(options: { cwd?: string } = {}): Config {
  const ctx: ValueContext = { baseDir: options.cwd ?? process.cwd() };
  const out: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(schema) as [string, SchemaEntry][]) {
    if (isSection(entry)) {
      const sub: Record<string, unknown> = {};
      for (const [key, f] of Object.entries(entry.fields)) sub[key] = f.defaultValue(ctx);
      out[name] = sub;
    } else {
      out[name] = entry.defaultValue(ctx);
    }
  }
  return out as Config;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends Record<string, unknown> ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type ConfigPatch = DeepPartial<{ -readonly [K in keyof Config]: { -readonly [J in keyof Config[K]]: Config[K][J] } }>;

/** A copy of `base` with the sections of `patch` merged in (for tests and the composition root). */
export function mergeConfig(base: Config, patch: ConfigPatch): Config {
  const out: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(patch)) {
    const entry = (schema as Record<string, SchemaEntry>)[name];
    if (!entry) throw new Error(`unknown config key ${name}`);
    out[name] = isSection(entry) ? { ...(base as unknown as Record<string, object>)[name], ...(value as object) } : value;
  }
  return out as Config;
}
