// The first listing of a per-user upstream: a server that wants a user's token for every request (its
// handshake and lists too) cannot be listed until someone has consented, where the gateway has no
// credentials of its own there (a public client). The first 2025 caller who lists is asked, as for a call.
import type { Principal } from '../../../http/principal.js'
import type { Caller } from '../../calls/index.js'
import type { UpstreamOAuth } from './oauth-client.js'
import { canOpenUrls, elicitConsent } from './transport.js'

/** An upstream as the listing consent sees it. */
export interface ConsentableUpstream {
  readonly status: string
  /** Its OAuth client where each caller authorizes it (`auth.mode: 'per-user'`). */
  readonly perUserAuth: UpstreamOAuth | undefined
  connect(): Promise<void>
}

/**
 * Before a list is answered: each per-user upstream that is down for want of anyone's authorization asks
 * the caller for theirs with a URL elicitation on their 2025 session, then connects on it. A 2026 list
 * cannot carry an `input_required` round: a 2026 caller, or one that declines, gets the list without it.
 */
export async function consentBeforeListing(upstreams: readonly ConsentableUpstream[], caller: Caller): Promise<void> {
  const principal = caller.principal
  if (!principal || caller.era === 'modern' || !caller.request || !canOpenUrls(caller)) return
  for (const upstream of upstreams) {
    const oauth = upstream.perUserAuth
    // Twice at most: a token the upstream refuses at once (its authorization server changed) is asked for again.
    for (let round = 0; round < 2 && oauth && upstream.status !== 'connected' && !(await oauth.hasOwnToken()); round++) {
      if (!(await authorizeLister(upstream, oauth, caller, principal))) break
    }
  }
}

/** Asks the caller's consent where the gateway holds no token of theirs, then connects on it; false when declined or failed. */
async function authorizeLister(upstream: ConsentableUpstream, oauth: UpstreamOAuth, caller: Caller, principal: Principal): Promise<boolean> {
  try {
    if (!(await oauth.userToken(principal))) {
      await elicitConsent(oauth, await oauth.consent(principal), caller.request!, caller.signal)
    }
    oauth.listAs(principal)
    await upstream.connect()
    return true
  } catch {
    // Its discovery or consent failed: the list goes on without it, and its first call says why.
    return false
  }
}
