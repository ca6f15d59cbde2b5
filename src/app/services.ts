/**
 * The long-lived services of a running server, built once from the config: store, TLS, auth, DNS,
 * policy, delivery planning and the queue runner. Engines for each connection are made from these.
 */
import type { Config } from '../config/schema.ts';
import { StartupError, systemReason } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { AuthService } from '../accounts/auth-service.ts';
import { VerifiedCredentialCache } from '../accounts/verified-cache.ts';
import { HashPool } from '../accounts/hash-pool.ts';
import { verifyPassword } from '../accounts/passwords.ts';
import { AuthLimiter } from '../policy/auth-limiter.ts';
import { NodeResolver } from '../dns/node-resolver.ts';
import type { Resolver } from '../dns/resolver.ts';
import { InboundPolicy } from '../policy/index.ts';
import { CheckPool } from '../policy/check-pool.ts';
import { InflightBudget } from '../delivery/inflight-budget.ts';
import { inboundPolicyOptionsFromConfig } from '../policy/policy-config.ts';
import { effectivePolicy, parseOverrides, POLICY_SETTING } from '../admin/policy.ts';
import { applyPolicyInPlace } from './live-policy.ts';
import { policyResolverFrom } from '../policy/resolver-adapter.ts';
import { SubmissionRateLimiter } from '../policy/submission-rate.ts';
import { Srs } from '../policy/srs.ts';
import { QueueRunner } from '../queue/runner.ts';
import { openStore, type OpenedStore } from '../store/open.ts';
import { TlsProvider } from '../transport/tls.ts';
import { ConnectionCounter } from '../transport/ip-limits.ts';
import { networkKey } from '../policy/ip-prefix.ts';
import { isLoopback } from './listeners.ts';
import { DeliveryPlanner } from '../delivery/planner.ts';
import { AccountLoginWatcher } from '../accounts/login-watcher.ts';
import { MailImapBackend } from '../mail/imap-backend.ts';
import { MailPop3Backend } from '../mail/pop3-backend.ts';
import { StoreMailAccess } from '../mail/service.ts';
import { EnvelopeCache } from '../mail/envelope-cache.ts';
import { SectionCache } from '../mail/section-cache.ts';
import { installationSecret, srsSecretFile } from '../config/secrets.ts';
import { makeDataDirPrivate } from '../store/data-dir-modes.ts';
import { UsageCache } from '../accounts/usage-cache.ts';
import { createMxHooks } from '../smtp-hooks/mx.ts';
import { createSubmissionHooks } from '../smtp-hooks/submission.ts';
import { SubmissionService } from '../submission/service.ts';
import { VacationReplier } from '../delivery/vacation-replier.ts';
import { SearchIndexer } from './search-indexer.ts';
import { ProbeDrop } from '../delivery/probe-drop.ts';
import { followStoreChanges } from './store-changes.ts';
import { createDailyReports, createOutboundTls } from './outbound-tls.ts';
import type { TlsAttemptLog } from '../reports/tls-attempt-log.ts';
import { RateLimiter } from '../policy/rate-limit.ts';
import { dkimKeysFor, importFileDkimKeys } from './dkim-keys.ts';
import { SharedGreylistStore } from './shared-greylist.ts';
import { sharedLimits } from './shared-limits.ts';
import type { DailyReports } from '../reports/daily-reports.ts';
import type { TlsRptSender } from '../reports/tlsrpt-sender.ts';
import type { DmarcResults } from '../reports/dmarc-results.ts';
import type { DmarcReportSender } from '../reports/dmarc-sender.ts';
import { SigningKeys } from '../dkim/signing-keys.ts';
import type { SmtpServerHooks } from '../protocols/smtp/hooks.ts';
import { Metrics } from '../metrics/metrics.ts';
import { TraceRecorder } from '../trace/recorder.ts';
import { traceObserver } from '../trace/queue-observer.ts';
import { observers } from '../queue/outcomes.ts';
import { submissionStatusObserver } from '../submission/delivery-status.ts';
import { HttpChallenges } from '../acme/http-challenges.ts';
import { createAcmeManager } from './acme.ts';
import type { AcmeManager } from '../acme/manager.ts';

export interface Services {
  config: Config;
  logger: Logger;
  store: OpenedStore;
  tls: TlsProvider;
  auth: AuthService;
  limiter: AuthLimiter;
  counter: ConnectionCounter;
  dns: Resolver;
  policy: InboundPolicy;
  planner: DeliveryPlanner;
  submissionRate: SubmissionRateLimiter;
  queue: QueueRunner;
  /** Account-scoped mail access: the one path of IMAP, POP3 (and JMAP) to mailboxes and messages. */
  mail: StoreMailAccess;
  pop3: MailPop3Backend;
  imap: MailImapBackend;
  usage: UsageCache;
  /** Ends IMAP, POP3 and submission sessions whose login stopped being valid. */
  logins: AccountLoginWatcher;
  dkimKeys: SigningKeys | null;
  /** The CPU-heavy message checks, on worker threads; closed when the server stops. */
  checks: CheckPool;
  /** Password checks of logins, on threads of their own (auth.hash_threads); closed when the server stops. */
  hashes: HashPool;
  /** Bytes of messages being received, across all connections (limits.inflight_message_bytes). */
  inflight: InflightBudget;
  /** Sending for logged-in users: SMTP submission now, JMAP and the webmail through the same service. */
  submission: SubmissionService;
  /** Vacation responses (RFC 8621 §8) sent at delivery; stop() waits for replies in progress. */
  vacation: VacationReplier;
  /** The background search indexer (search.index), started with the listeners; null when off. */
  searchIndexer: SearchIndexer | null;
  smtpHooks: { mx: SmtpServerHooks; submission: SmtpServerHooks };
  /** Prometheus metrics (served at /metrics); counters are bumped where each event happens. */
  metrics: Metrics;
  /** The message trace recorder (trace.enabled); flushed before the store closes. */
  trace: TraceRecorder;
  /** Whether plaintext auth is allowed for a client (loopback, when configured). */
  allowPlaintextAuth(remoteAddress: string): boolean;
  /** Applies `[policy]` values (the file's with the admin's run-time overrides) to the running inbound policy. */
  applyPolicy(policy: Config['policy']): void;
  /** Outbound TLS results for TLS-RPT (null when reports.tlsrpt is off). */
  tlsAttempts: TlsAttemptLog | null;
  /** Certificates by ACME (`[acme] enabled`); started once the listeners are up. */
  acme: AcmeManager | null;
  /** HTTP-01 answers of the ACME challenges under way. */
  acmeHttp: HttpChallenges;
  /** Sends the daily TLS-RPT and DMARC aggregate reports (started with the queue). */
  reports: DailyReports;
  tlsRpt: TlsRptSender | null;
  dmarcResults: DmarcResults | null;
  dmarcReports: DmarcReportSender | null;
}

export interface ServiceOverrides {
  /** Tests pass a resolver pointed at their own DNS server. */
  dns?: Resolver;
}

export async function createServices(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Promise<Services> {
  makePrivate(config.dataDir, logger);
  // No SQLite busy wait in the server: it would block the event loop (GroupCommit retries off the loop instead).
  const metrics = new Metrics();
  const store = await openStore({ dataDir: config.dataDir, storage: config.storage, busyTimeoutMs: 0, changePollMs: config.storage.changePollInterval }).catch((err: unknown) => {
    throw new StartupError(`data_dir = ${config.dataDir}: cannot open the database: ${systemReason(err)}`, err);
  });
  await reportCorruptBodies(store, logger);
  const tls = new TlsProvider({
    files: config.tls.cert && config.tls.key ? { cert: config.tls.cert, key: config.tls.key } : null,
    sni: config.tls.sni,
    dataDir: config.dataDir,
    hostname: config.hostname,
    logger,
  });
  const allowPlaintextAuth = (remoteAddress: string): boolean => config.auth.allowPlaintextOnLoopback && isLoopback(remoteAddress);
  // Several nodes on one store share login failure caps, rate limits, greylisting and DKIM keys.
  const sharing = store.shared ? sharedLimits({ shared: store.shared, feed: store, logger, authWindowMs: config.auth.failureWindow }) : null;
  const limiter = new AuthLimiter({
    maxFailuresPerIp: config.auth.maxFailuresPerIp,
    maxFailuresPerAccount: config.auth.maxFailuresPerAccount,
    windowMs: config.auth.failureWindow,
    penaltyDelayMs: config.auth.penaltyDelay,
    onSettled: sharing ? (e) => sharing.authSettled(e) : undefined,
  });
  const hashes = new HashPool({ threads: config.auth.hashThreads, nice: config.auth.hashPriority });
  const auth = new AuthService({
    accounts: store,
    verifyPassword: (hash, password) => verifyPassword(hash, password, { pool: hashes }),
    limiter,
    logger,
    allowPlaintextAuth: (ctx) => allowPlaintextAuth(ctx.remoteAddress),
    scramSecret: installationSecret(config.dataDir),
    scramIterations: config.auth.scramIterations,
    verifiedCache: new VerifiedCredentialCache({ ttlMs: config.auth.verifiedCacheTtl }),
    onFailure: (protocol) => metrics.authFailure(protocol),
  });
  const trace = new TraceRecorder({ store, logger, enabled: config.trace.enabled, retentionMs: config.trace.retention });
  const dns = overrides.dns ?? new NodeResolver({ servers: config.dns.servers.length ? config.dns.servers : undefined, timeoutMs: config.dns.timeout });
  const localDomains = (await store.listDomains()).map((d) => d.name);
  // Run-time overrides saved through the administration service apply over the file's [policy].
  const policyOptions = inboundPolicyOptionsFromConfig({ hostname: config.hostname, policy: effectivePolicy(config.policy, parseOverrides(await store.getSetting(POLICY_SETTING))) }, localDomains);
  const checks = new CheckPool({ size: config.limits.checkWorkers, timeoutMs: config.limits.checkTimeout, logger });
  const rates = sharing ? new RateLimiter({ options: policyOptions.rateLimit, onTake: (kind, ip) => sharing.rateTaken(kind, ip) }) : undefined;
  const greylistStore = store.shared
    ? new SharedGreylistStore(store.shared, { ttlMs: 1000 * Math.max(policyOptions.greylist.retryWindowSeconds, policyOptions.greylist.passTtlSeconds) })
    : undefined;
  const policy = new InboundPolicy({ options: policyOptions, resolver: policyResolverFrom(dns), logger, checks, rates, greylistStore });
  const submissionRate = new SubmissionRateLimiter({
    messagesPerHour: config.submission.rateMessagesPerHour,
    recipientsPerHour: config.submission.rateRecipientsPerHour,
    onRecord: sharing ? (user, recipients, at) => sharing.submissionSent(user, recipients, at) : undefined,
  });
  await sharing?.follow({ auth: limiter, rates: rates ?? null, submission: submissionRate });
  await importFileDkimKeys(store, config.dataDir, logger);
  // SRS is on unless switched off; a configured secret wins over the one generated at first start.
  const srsSecret = config.policy.srs ? (policyOptions.forwarding.srsSecret ?? srsSecretFile(config.dataDir)) : null;
  const planner = new DeliveryPlanner({
    store,
    srs: srsSecret ? new Srs({ secret: srsSecret, domain: config.hostname }) : null,
    hostname: config.hostname,
    postmaster: config.postmaster || null,
  });
  const mail = new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: config.storage.quotaDefault, logger });
  const q = config.queue;
  const outboundTls = createOutboundTls(config, dns, logger);
  const queue = new QueueRunner({
    outboundTls: outboundTls.policy,
    tlsReport: outboundTls.attempts,
    store,
    resolver: dns,
    logger,
    hostname: config.hostname,
    routing: {
      relayhost: q.relayhost ? { host: q.relayhost.host, port: q.relayhost.port, tls: q.relayhostTls, auth: q.relayhostUsername ? { username: q.relayhostUsername, password: q.relayhostPassword } : undefined } : undefined,
      routes: Object.fromEntries(Object.entries(q.routes).map(([domain, hp]) => [domain, `${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`])),
      portOverride: q.portOverride || undefined,
      localHostnames: [config.hostname],
    },
    retry: { scheduleMs: q.retrySchedule, maxAgeMs: q.maxAge, delayWarningMs: q.delayWarning ?? 0 },
    // Our DSN for forwarded mail goes straight to the original sender, not to our own SRS address.
    dsnRecipient: (sender) => {
      const at = sender.lastIndexOf('@');
      if (!planner.srs || sender.slice(at + 1).toLowerCase() !== config.hostname.toLowerCase()) return sender;
      const reversed = planner.srs.reverse(sender);
      return reversed.ok ? reversed.address : sender;
    },
    local: planner.queueHook({ hostname: config.hostname, logger, suppression: store }),
    suppression: store,
    maxConnections: q.concurrency,
    maxConnectionsPerDestination: q.perDestinationConcurrency,
    connectionCacheMs: q.connectionCacheTime,
    destinationBackoffMs: q.destinationBackoff,
    deliveryThreads: q.deliveryThreads,
    maxHops: q.maxHops,
    leaseMs: q.leaseTime,
    mxTlsMode: q.tlsPolicy === 'required' ? 'required' : q.tlsPolicy === 'none' ? 'none' : 'opportunistic',
    observer: observers(traceObserver({ trace, metrics }), submissionStatusObserver({ store, logger })),
  });
  const acmeHttp = new HttpChallenges();
  const dkimKeys = new SigningKeys({ keys: dkimKeysFor(store, config.dataDir), resolver: dns, logger });
  const base: Omit<Services, 'smtpHooks' | 'submission' | 'vacation' | 'searchIndexer'> = {
    acme: createAcmeManager({ config, store, tls, http: acmeHttp, logger }),
    acmeHttp,
    config,
    metrics,
    trace,
    logger,
    store,
    tls,
    auth,
    limiter,
    counter: new ConnectionCounter({
      maxConnections: config.limits.connectionsTotal,
      maxConnectionsPerIp: config.limits.connectionsPerIp,
      maxConnectionsPerNetwork: config.limits.connectionsPerNetwork,
      networkOf: (ip) => networkKey(ip),
    }),
    dns,
    policy,
    planner,
    submissionRate,
    queue,
    mail,
    pop3: new MailPop3Backend({ mail, logger }),
    imap: new MailImapBackend({ mail, changes: store, envelopes: new EnvelopeCache(), headerSections: new SectionCache({ maxBytes: config.limits.imapHeaderCacheSize }) }),
    allowPlaintextAuth,
    applyPolicy: (policy) => applyPolicyInPlace(policyOptions, config.hostname, policy),
    tlsAttempts: outboundTls.attempts,
    ...createDailyReports({ config, dns, logger, store, attempts: outboundTls.attempts, dkimKeys, onQueued: () => queue.kick() }),
    usage: new UsageCache({ store, defaultQuotaBytes: config.storage.quotaDefault }),
    logins: new AccountLoginWatcher({ store, logger }),
    dkimKeys,
    checks,
    hashes,
    inflight: new InflightBudget(config.limits.inflightMessageBytes),
  };
  // The replier sends through the submission service, which tells it about local deliveries.
  let sendAutomatic: SubmissionService['sendAutomatic'] = () => Promise.reject(new Error('not started'));
  const vacation = new VacationReplier({
    store,
    accountsOf: async (address) => {
      const r = await planner.resolver.resolve(address);
      return r.kind === 'local' ? r.targets.flatMap((t) => (t.kind === 'mailbox' ? [t.accountId] : [])) : [];
    },
    sender: { sendAutomatic: (input) => sendAutomatic(input) },
    periodMs: config.vacation.replyPeriod,
    logger,
  });
  const submission = new SubmissionService({ ...base, rate: base.submissionRate, vacation });
  sendAutomatic = (input) => submission.sendAutomatic(input);
  await vacation.start();
  const services: Services = {
    ...base,
    submission,
    vacation,
    searchIndexer: config.search.index ? new SearchIndexer({ store, logger, delayMs: config.search.indexDelay, batchSize: config.search.indexBatch, busyUtilization: config.search.indexBusyUtilization, busyWaitMs: config.search.indexBusyWait }) : null,
    smtpHooks: { mx: createMxHooks({ ...base, vacation, probes: new ProbeDrop({ dataDir: config.dataDir }) }), submission: createSubmissionHooks({ ...base, submission }) },
  };
  // Changes made by other processes reach caches, the queue runner and IMAP sessions (ends with store.close()).
  services.mail.start();
  services.logins.start();
  followStoreChanges({
    ...services,
    // The policy keeps the options object it was given: local domains a client may not claim in HELO.
    setLocalDomains: (names) => { policyOptions.ourNames = names; },
  });
  return services;
}

/**
 * Start-up check of stored bodies: a missing or truncated blob is reported by name, not found
 * later as a crash. Queue bodies are always checked; mailbox bodies when the store is not huge, or as
 * POSTAMT_CHECK_BLOBS says (1: always, 0: never). The damaged items stay: FETCH/RETR answer NO/-ERR for
 * them and the queue quarantines its entry after POISON_LIMIT failures, while everything else flows.
 */
async function reportCorruptBodies(store: OpenedStore, logger: Logger): Promise<void> {
  const env = process.env.POSTAMT_CHECK_BLOBS;
  const report = await store.checkIntegrity({ mailboxes: env === '1' ? true : env === '0' ? false : 'auto' });
  for (const c of report.corrupt) {
    const where = c.kind === 'queue' ? { queueId: c.queueId } : { account: c.account, mailbox: c.mailbox, uid: c.uid };
    logger.error({ event: 'store.corrupt_blob', kind: c.kind, problem: c.problem, blobId: c.blobId, ...where }, `stored body ${c.problem}`);
  }
  logger.info({ event: 'store.integrity', corrupt: report.corrupt.length, checkedQueue: report.checkedQueue, checkedMessages: report.checkedMessages, ms: report.ms }, 'start-up integrity check');
}

/**
 * data_dir holds all mail, password hashes and private keys: owner-only, whatever the umask was when its
 * files were made. Each looser mode found is logged with its path, then tightened.
 */
function makePrivate(dataDir: string, logger: Logger): void {
  let loose;
  try {
    loose = makeDataDirPrivate(dataDir);
  } catch {
    return; // data_dir cannot be made: opening the store says why
  }
  for (const f of loose) {
    const text = f.fixed ? `${f.path} was mode ${f.was}, readable or writable by other users; now ${f.now}` : `${f.path} has mode ${f.was}, readable or writable by other users, and could not be changed`;
    logger.warn({ event: 'data_dir.loose_mode', path: f.path, mode: f.was, now: f.now, fixed: f.fixed }, text);
  }
}
