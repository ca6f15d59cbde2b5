/**
 * The JMAP API engine (RFC 8620 §3): takes a request body and an authenticated identity, checks the Request,
 * runs its method calls in order through the method table (result references, creation ids, account checks,
 * method-level errors) and returns the Response object or a problem, as data for the HTTP layer to send.
 */
import type { Logger } from '../../core/log.ts';
import { StorageError } from '../../core/errors.ts';
import type { JmapBackend, JmapIdentity } from './backend.ts';
import { CORE_CAPABILITY, coreCapability, resolveLimits, type JmapLimits } from './capabilities.ts';
import { CreatedIds } from './creation-ids.ts';
import type { MethodArguments, MethodSpec, MethodTable } from './method.ts';
import { MethodError } from './method-error.ts';
import { problem, serverProblem, type ProblemResult } from './problem.ts';
import { describeIssues, parseRequest, type JmapRequest, type RequestBody } from './request.ts';
import { resolveArguments, type Invocation } from './result-reference.ts';

/** RFC 8620 §3.4: the Response object. */
export interface JmapResponse {
  methodResponses: Invocation[];
  createdIds?: Record<string, string>;
  sessionState: string;
}

/** One line per call for the HTTP layer's request log: what was called and how it ended. */
export interface CallSummary {
  name: string;
  callId: string;
  /** The method-level error type, when the call failed. */
  error?: string;
}

export interface ResponseResult {
  kind: 'response';
  status: 200;
  contentType: 'application/json';
  body: JmapResponse;
  calls: CallSummary[];
}

export type ApiResult = ResponseResult | ProblemResult;

export interface JmapEngineOptions<B extends JmapBackend> {
  backend: B;
  /** Method name → spec; CORE_METHODS plus the tables of the data types served. */
  methods: MethodTable<B>;
  /** Capability URN → server-level capability object (besides Core, which the engine builds from the limits). */
  capabilities?: Record<string, Record<string, unknown>>;
  limits?: Partial<JmapLimits>;
  logger: Logger;
  /**
   * RFC 8620 §2 maxConcurrentRequests: called before a request runs; returns a release function, or null when
   * the identity already has as many requests in flight as allowed (answered as a `limit` problem).
   */
  admitRequest?: (identity: JmapIdentity) => (() => void) | null;
}

export class JmapEngine<B extends JmapBackend = JmapBackend> {
  readonly limits: Readonly<JmapLimits>;
  readonly capabilities: Readonly<Record<string, Record<string, unknown>>>;
  private readonly backend: B;
  private readonly methods: MethodTable<B>;
  private readonly logger: Logger;
  private readonly admitRequest: JmapEngineOptions<B>['admitRequest'];

  constructor(options: JmapEngineOptions<B>) {
    this.limits = Object.freeze(resolveLimits(options.limits));
    this.capabilities = Object.freeze({ ...options.capabilities, [CORE_CAPABILITY]: coreCapability(this.limits) });
    this.backend = options.backend;
    this.methods = options.methods;
    this.logger = options.logger;
    this.admitRequest = options.admitRequest;
  }

  /** A request body as received over HTTP (RFC 8620 §3.1). Never throws. */
  async handle(identity: JmapIdentity, input: RequestBody): Promise<ApiResult> {
    const parsed = parseRequest(input, this.limits);
    if (!parsed.ok) return this.refuse(identity, parsed.problem);
    return this.execute(identity, parsed.request);
  }

  /** An already checked Request object (RFC 8620 §3.3). Never throws. */
  async execute(identity: JmapIdentity, request: JmapRequest): Promise<ApiResult> {
    // RFC 8620 §3.6.1 unknownCapability: every capability in "using" must be one the server supports.
    const unknown = request.using.find((c) => !Object.prototype.hasOwnProperty.call(this.capabilities, c));
    if (unknown !== undefined) {
      return this.refuse(identity, problem('unknownCapability', `The Request object used capability ${JSON.stringify(unknown)}, which is not supported by this server.`));
    }
    // RFC 8620 §2 maxCallsInRequest, refused as a request-level `limit` error (§3.6.1).
    if (request.methodCalls.length > this.limits.maxCallsInRequest) {
      return this.refuse(identity, problem('limit', `The request has more than ${this.limits.maxCallsInRequest} method calls.`, 'maxCallsInRequest'));
    }
    const release = this.admitRequest ? this.admitRequest(identity) : () => {};
    if (release === null) {
      return this.refuse(identity, problem('limit', `Too many concurrent requests (at most ${this.limits.maxConcurrentRequests}).`, 'maxConcurrentRequests'));
    }
    try {
      return await this.run(identity, request);
    } catch (err) {
      this.logger.error({ event: 'jmap.request_failed', user: identity.username, err }, 'JMAP request failed outside any method');
      return serverProblem();
    } finally {
      release();
    }
  }

  private async run(identity: JmapIdentity, request: JmapRequest): Promise<ApiResult> {
    const using = new Set(request.using);
    const createdIds = new CreatedIds(request.createdIds);
    const responses: Invocation[] = [];
    const calls: CallSummary[] = [];
    // RFC 8620 §3.3: method calls are processed in order; an error in one does not stop the next (§3.6.2).
    for (const [name, args, callId] of request.methodCalls) {
      const produced = await this.call({ identity, using, createdIds, responses, name, args, callId });
      const first = produced[0]!;
      calls.push(first[0] === 'error' ? { name, callId, error: String(first[1].type) } : { name, callId });
      responses.push(...produced);
    }
    const body: JmapResponse = { methodResponses: responses, sessionState: await this.backend.sessionState(identity) };
    // RFC 8620 §3.4: createdIds is in the response only if it was in the request.
    if (request.createdIds !== undefined) body.createdIds = createdIds.toJSON();
    return { kind: 'response', status: 200, contentType: 'application/json', body, calls };
  }

  private async call(c: {
    identity: JmapIdentity;
    using: ReadonlySet<string>;
    createdIds: CreatedIds;
    responses: readonly Invocation[];
    name: string;
    args: MethodArguments;
    callId: string;
  }): Promise<Invocation[]> {
    const error = (e: MethodError): Invocation[] => [['error', e.toArguments(), c.callId]];
    const spec: MethodSpec<B> | undefined = Object.prototype.hasOwnProperty.call(this.methods, c.name) ? this.methods[c.name] : undefined;
    // RFC 8620 §3.6.2 unknownMethod: a name the server does not know, or a method of a capability the
    // client did not list in "using".
    if (spec === undefined || !c.using.has(spec.capability)) return error(new MethodError('unknownMethod'));
    // RFC 8620 §3.7: result references are resolved before the method is processed.
    const resolved = resolveArguments(c.args, c.responses);
    if (!resolved.ok) return error(new MethodError(resolved.type, resolved.description));
    const checked = spec.args.safeParse(resolved.args);
    if (!checked.success) return error(new MethodError('invalidArguments', describeIssues(checked.error)));
    const args = checked.data;
    try {
      let accountId: string | null = null;
      let account = null;
      if (spec.account !== 'none') {
        if (typeof args.accountId !== 'string') return error(new MethodError('invalidArguments', 'accountId: expected a string'));
        accountId = args.accountId;
        account = await this.backend.accountFor(c.identity, accountId);
        // RFC 8620 §3.6.2 accountNotFound: no such account, or not one this user may access.
        if (account === null) return error(new MethodError('accountNotFound'));
        // RFC 8620 §3.6.2 accountNotSupportedByMethod: the account exists but lacks this method's data type.
        if (!Object.prototype.hasOwnProperty.call(account.accountCapabilities, spec.capability)) return error(new MethodError('accountNotSupportedByMethod'));
        // RFC 8620 §3.6.2 accountReadOnly: the method modifies state and the account is read-only.
        if (spec.account === 'write' && account.isReadOnly) return error(new MethodError('accountReadOnly'));
      }
      const followUps: Invocation[] = [];
      const result = await spec.handle(args, {
        identity: c.identity,
        backend: this.backend,
        limits: this.limits,
        using: c.using,
        callId: c.callId,
        accountId,
        account,
        createdIds: c.createdIds,
        followUp: (name, followArgs) => void followUps.push([name, followArgs, c.callId]),
      });
      if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new TypeError(`${c.name} returned no arguments object`);
      return [[c.name, result, c.callId], ...followUps];
    } catch (err) {
      if (err instanceof MethodError) return error(err);
      if (err instanceof StorageError) {
        // RFC 8620 §3.6.2 serverUnavailable: a resource was temporarily unavailable; retrying later may work.
        this.logger.warn({ event: 'jmap.method_unavailable', user: c.identity.username, method: c.name, callId: c.callId, err }, 'JMAP method hit an unavailable resource');
        return error(new MethodError('serverUnavailable'));
      }
      // RFC 8620 §3.6.2 serverFail: an unexpected error; logged here, and the client learns nothing of it.
      this.logger.error({ event: 'jmap.method_failed', user: c.identity.username, method: c.name, callId: c.callId, err }, 'JMAP method failed');
      return error(new MethodError('serverFail'));
    }
  }

  private refuse(identity: JmapIdentity, p: ProblemResult): ProblemResult {
    this.logger.info({ event: 'jmap.request_refused', user: identity.username, type: p.body.type, limit: p.body.limit, detail: p.body.detail }, 'JMAP request refused');
    return p;
  }
}
