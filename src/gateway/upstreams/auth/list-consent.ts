// The first listing of a per-user upstream: a server that wants a user's token for every request (its
// handshake and lists too) cannot be listed until someone has consented, where the gateway has no
// credentials of its own there (a public client). The first caller who lists is asked, as for a call.
import { type StateSealer, requestDigest } from '../../front/sealed-state.js'
import type { Caller } from '../../routing/caller.js'
import type { UpstreamOAuth } from './oauth-client.js'
import { CONSENT_INPUT, CONSENT_STATE, canOpenUrls, consentElicitation, untilAuthorized } from './transport.js'

type Params = Record<string, unknown>

/** An upstream as the listing consent sees it. */
export interface ConsentableUpstream {
  readonly id: string
  readonly status: string
  /** Its OAuth client where each caller authorizes it (`auth.mode: 'per-user'`). */
  readonly perUserAuth: UpstreamOAuth | undefined
  connect(): Promise<void>
}

/**
 * Before a list is answered: each per-user upstream that is down for want of anyone's authorization asks
 * the caller for theirs (a URL elicitation on a 2025 session; an `input_required` round, returned here, for
 * a 2026 request), then connects on it. An upstream the caller does not authorize stays out of the list.
 */
export async function consentBeforeListing(upstreams: readonly ConsentableUpstream[], caller: Caller, sealer: StateSealer, method: string): Promise<Params | undefined> {
  if (!caller.principal) return undefined
  for (const upstream of upstreams) {
    const oauth = upstream.perUserAuth
    if (!oauth || upstream.status === 'connected' || (await oauth.hasOwnToken())) continue
    const round = await authorizeLister(upstream, oauth, caller, sealer, method).catch(() => undefined)
    if (round) return round
  }
  return undefined
}

async function authorizeLister(upstream: ConsentableUpstream, oauth: UpstreamOAuth, caller: Caller, sealer: StateSealer, method: string): Promise<Params | undefined> {
  const principal = caller.principal!
  if (!(await oauth.userToken(principal))) {
    const asked = caller.era === 'modern' && caller.state?.upstream === upstream.id ? caller.state.state : undefined
    if (asked?.startsWith(CONSENT_STATE)) {
      if ((caller.inputResponses?.[CONSENT_INPUT] as { action?: string } | undefined)?.action !== 'accept') return undefined
      const pending = oauth.pending.get(asked.slice(CONSENT_STATE.length))
      if (pending) await untilAuthorized(pending, caller.signal)
    } else {
      if (!canOpenUrls(caller)) return undefined
      const consent = await oauth.consent(principal)
      const elicitation = consentElicitation(oauth.resource, consent)
      if (caller.era === 'modern') {
        return {
          resultType: 'input_required',
          inputRequests: { [CONSENT_INPUT]: { method: 'elicitation/create', params: elicitation } },
          requestState: sealer.seal({ upstream: upstream.id, request: requestDigest(method, {}), state: `${CONSENT_STATE}${consent.elicitationId}` }),
        }
      }
      const answer = (await caller.request?.({ method: 'elicitation/create', params: elicitation } as never, caller.signal)) as { action?: string } | undefined
      if (answer?.action !== 'accept') return undefined
      await untilAuthorized(consent, caller.signal)
    }
  }
  oauth.listAs(principal)
  await upstream.connect()
  return undefined
}
