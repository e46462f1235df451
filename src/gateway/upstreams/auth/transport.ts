import { extractWWWAuthenticateParams, PROTOCOL_VERSION_META_KEY, ProtocolError, type Transport } from '@modelcontextprotocol/client'
import { frontTokenOf, type Principal } from '../../../http/principal.js'
import { INVALID_PARAMS, INVALID_REQUEST, URL_ELICITATION_REQUIRED } from '../../../protocol/codes.js'
import { isRequest } from '../../../http/jsonrpc.js'
import { type Caller, ownerOf } from '../../calls/index.js'
import type { Consent, UpstreamOAuth } from './oauth-client.js'
import { WrappingTransport } from '../wrapping-transport.js'

type Message = { jsonrpc: '2.0'; id?: string | number; method?: string; params?: Record<string, unknown> }
type SendOptions = Parameters<Transport['send']>[1] & { authorization?: string; requestSignal?: AbortSignal }

/** The key of the gateway's own consent request in an `input_required` round, and the prefix of its state. */
const CONSENT_INPUT = 'airmcp-upstream-authorization'
const CONSENT_STATE = 'airmcp-consent:'

/**
 * Wraps the gateway's HTTP client to one protected upstream: every message goes with the access token its
 * request needs (the caller's, exchanged or their own, for a caller's request; the gateway's own for the
 * rest); the caller's own front token never goes upstream. A caller whose authorization the gateway does
 * not hold yet is asked for it with a URL elicitation: a 2026 upstream request gets an `input_required`
 * round the router passes on (as an `elicitation/create` to a 2025 caller), a 2025 one an elicitation on
 * the caller's session; a caller that cannot open URLs gets an error naming the URL.
 */
export class AuthorizingTransport extends WrappingTransport {
  constructor(
    inner: Transport,
    private readonly oauth: UpstreamOAuth,
    /** Set on one 2025 client session's own upstream session: whose token its own messages (initialize) go with. */
    private readonly sessionPrincipal?: Principal,
  ) {
    super(inner)
  }

  get hasPerRequestStream(): boolean | undefined {
    return (this.inner as { hasPerRequestStream?: boolean }).hasPerRequestStream
  }

  /** `again`: the retry of a caller's request whose token the upstream refused (asked for consent once more). */
  async send(message: Parameters<Transport['send']>[0], options?: SendOptions, again = false): Promise<void> {
    const caller = ownerOf(options?.relatedRequestId) as Caller | undefined
    // On a session's own upstream session every message is that session's principal's (its server binds the session to them).
    const principal = caller?.principal ?? this.sessionPrincipal
    const perCaller = principal && this.oauth.config.mode !== 'as-itself'
    let token: string | undefined
    let sent = message as Message
    if (!perCaller) token = await this.oauth.ownToken()
    else if (this.oauth.config.mode === 'on-behalf-of') {
      const subject = frontTokenOf(principal)
      if (!subject) throw new ProtocolError(INVALID_REQUEST, 'This upstream acts on behalf of the caller, whose OAuth access token the gateway did not receive (a static-token client). Try this: call with an OAuth token.')
      token = await this.oauth.exchangedToken(principal, subject)
    } else {
      const resumed = this.resumed(sent)
      if (resumed) {
        sent = resumed.message
        await untilAuthorized(this.oauth, resumed.state, options?.requestSignal)
        // The last user who consented is whom the gateway's own requests ride on where it has no credentials.
        this.oauth.listAs(principal)
      }
      token = await this.oauth.userToken(principal)
      if (!token && caller && isRequest(message as never)) {
        const consent = await this.oauth.consent(principal)
        const asked = await this.askConsent(sent, consent, caller, options)
        if (asked === 'round') return
        this.oauth.listAs(principal)
        token = await this.oauth.userToken(principal)
      }
      if (!token) throw new ProtocolError(INVALID_REQUEST, 'The authorization for this upstream was not completed. Try this: call again.')
    }
    try {
      return await this.inner.send(sent as never, { ...options, authorization: token && `Bearer ${token}` } as never)
    } catch (error) {
      const challenge = (error as { challenge?: { status: number; header: string | null } }).challenge
      if (!challenge) throw error
      await this.onChallenge(challenge, token !== undefined, perCaller ? principal : undefined)
      // A caller's own token refused (revoked, or short of a scope the upstream now asks for): they consent once more.
      if (!again && caller && perCaller && this.oauth.config.mode === 'per-user' && isRequest(message as never)) return this.send(sent as never, options, true)
      throw error
    }
  }

  /**
   * The retry of a round of ours: the request as first sent, and the state of the consent it waited for
   * (the round may have been asked by another replica: the consent board knows it).
   */
  private resumed(message: Message): { message: Message; state: string } | undefined {
    const state = acceptedConsent(message.params?.requestState, message.params?.inputResponses)
    if (state === undefined) return undefined
    const { requestState: _state, inputResponses: _answers, ...params } = message.params!
    return { message: { ...message, params }, state }
  }

  /**
   * Asks the caller to open the consent URL: as an `input_required` round answered to a 2026 upstream
   * request ('round': answered here, nothing is sent upstream), or an elicitation on a 2025 caller's session
   * ('asked': the browser came back).
   */
  private async askConsent(message: Message, consent: Consent, caller: Caller, options?: SendOptions): Promise<'round' | 'asked'> {
    const elicitation = consentElicitation(this.oauth.resource, consent)
    // A 2026 request, or a 2026 caller's replayed on a 2025 server (routing/era-bridge.ts seals the round there).
    const modern = caller.replay !== undefined || (message.params?._meta as Record<string, unknown> | undefined)?.[PROTOCOL_VERSION_META_KEY] !== undefined
    if (!canOpenUrls(caller)) {
      const text = `This call needs your authorization at ${new URL(this.oauth.resource).host}. Try this: open ${consent.url} in a browser, sign in and consent, then call again.`
      // A tool error the user reads; elsewhere the 2025 "URL elicitation required" error (2026 has none).
      if (message.method === 'tools/call') {
        this.onmessage?.({ jsonrpc: '2.0', id: message.id!, result: { content: [{ type: 'text', text }], isError: true } } as never)
        return 'round'
      }
      throw new ProtocolError(modern ? INVALID_REQUEST : URL_ELICITATION_REQUIRED, text, modern ? undefined : { elicitations: [elicitation] })
    }
    if (modern) {
      const round = {
        resultType: 'input_required',
        inputRequests: { [CONSENT_INPUT]: { method: 'elicitation/create', params: elicitation } },
        requestState: `${CONSENT_STATE}${consent.elicitationId}`,
      }
      this.onmessage?.({ jsonrpc: '2.0', id: message.id!, result: round } as never)
      return 'round'
    }
    if (!caller.request) throw new ProtocolError(URL_ELICITATION_REQUIRED, `This call needs your authorization. Try this: open ${consent.url}, then call again.`)
    await elicitConsent(this.oauth, consent, caller.request, options?.requestSignal)
    return 'asked'
  }

  /** A 401 or 403 drops the token that was refused; a 403 insufficient_scope asks for the scope next time. */
  private async onChallenge({ status, header }: { status: number; header: string | null }, refusedToken: boolean, principal: Caller['principal']): Promise<void> {
    const { resourceMetadataUrl, scope, error } = extractWWWAuthenticateParams({ headers: new Headers(header ? { 'www-authenticate': header } : {}) } as Response)
    if (status === 401) this.oauth.challenged({ resourceMetadataUrl: resourceMetadataUrl?.href, scope, refusedToken })
    if (status === 403 && error === 'insufficient_scope' && scope) this.oauth.stepUp(scope)
    if (status !== 401 && status !== 403) return
    if (principal) await this.oauth.forget(principal).catch(() => {})
    else await this.oauth.dropServiceToken()
  }
}

/** The URL elicitation that sends a caller's browser to the consent of the upstream at `resource`. */
export function consentElicitation(resource: string, consent: Consent) {
  return {
    mode: 'url',
    elicitationId: consent.elicitationId,
    url: consent.url,
    message: `The server at ${new URL(resource).host} needs your authorization. Open the link, sign in and consent; the call then goes on.`,
  }
}

/** Whether `requestState` is that of the gateway's own consent round (auth/transport.ts), not its server's. */
export function isConsentState(requestState: unknown): boolean {
  return typeof requestState === 'string' && requestState.startsWith(CONSENT_STATE)
}

/**
 * The consent a retry of the gateway's consent round waits for (its state), once the caller accepted it;
 * undefined for any other request. Declined: an error.
 */
export function acceptedConsent(requestState: unknown, inputResponses: unknown): string | undefined {
  if (!isConsentState(requestState)) return undefined
  const answer = (inputResponses as Record<string, { action?: string }> | undefined)?.[CONSENT_INPUT]
  if (answer?.action !== 'accept') throw new ProtocolError(INVALID_REQUEST, 'The authorization for this upstream was declined.')
  return (requestState as string).slice(CONSENT_STATE.length)
}

/** Sends a 2025 caller's browser to `consent` with a URL elicitation on its session, and waits for it to come back. */
export async function elicitConsent(oauth: UpstreamOAuth, consent: Consent, request: NonNullable<Caller['request']>, signal?: AbortSignal): Promise<void> {
  const answer = (await request({ method: 'elicitation/create', params: consentElicitation(oauth.resource, consent) }, signal)) as { action?: string }
  if (answer?.action !== 'accept') throw new ProtocolError(INVALID_REQUEST, 'The authorization for this upstream was declined.')
  await untilAuthorized(oauth, consent.elicitationId, signal)
}

/**
 * Before a caller's own session with a 2025 per-user server opens (own-connections.ts): a 2025 caller's
 * consent, asked on their session; a 2026 caller's retry of the consent round, once the browser came back.
 * False where neither: the call goes where the consent is asked or its URL told, nothing sent (`send`).
 */
export async function consentBeforeSession(oauth: UpstreamOAuth, caller: Caller, principal: Principal): Promise<boolean> {
  const round = caller.era === 'modern' ? acceptedConsent(caller.state?.state, caller.inputResponses) : undefined
  if (round !== undefined) await untilAuthorized(oauth, round, caller.signal)
  else if (caller.era === 'modern' || !caller.request || !canOpenUrls(caller)) return false
  else await elicitConsent(oauth, await oauth.consent(principal), caller.request, caller.signal)
  oauth.listAs(principal)
  return true
}

/** Whether the caller declared URL elicitation (else it is told the link in an error). */
export function canOpenUrls(caller: Caller): boolean {
  return (caller.clientCapabilities?.elicitation as { url?: unknown } | undefined)?.url !== undefined
}

/** Waits for the browser to come back to a replica's callback for the consent of `state` (or the request to be cancelled). */
export async function untilAuthorized(oauth: UpstreamOAuth, state: string, signal?: AbortSignal): Promise<void> {
  let stop: (() => void) | undefined
  const cancelled = new Promise<never>((_resolve, reject) => {
    stop = () => reject(new ProtocolError(INVALID_REQUEST, 'The request ended before the authorization was completed.'))
    signal?.addEventListener('abort', stop, { once: true })
  })
  cancelled.catch(() => {})
  try {
    const outcome = await Promise.race([oauth.consentOutcome(state), cancelled])
    if (!outcome) throw new ProtocolError(INVALID_PARAMS, 'This authorization round is unknown or over. Try this: send the request again without requestState.')
    if (!outcome.ok) throw new ProtocolError(INVALID_REQUEST, outcome.error)
  } finally {
    if (stop) signal?.removeEventListener('abort', stop)
  }
}
