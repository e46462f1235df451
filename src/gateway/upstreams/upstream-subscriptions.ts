// An upstream member's notification streams: the 2026 `subscriptions/listen` stream, and the resource subscriptions clients asked for, in the era the server speaks.
import { classifyFailure, messageOf } from '../errors.js'
import { UpstreamHealth } from './upstream-health.js'

/** Where a member's notifications come from beside its calls (a base of Upstream, upstream.ts). */
export abstract class UpstreamSubscriptions extends UpstreamHealth {
  private readonly subscribedUris = new Set<string>()

  /**
   * A modern upstream sends notifications only on a `subscriptions/listen` stream: one stream per upstream
   * carries list changes and the resource URIs clients subscribed to. Best effort: a server without it
   * still serves calls.
   */
  protected async listen(): Promise<void> {
    const client = this.client
    if (!client || this.era !== 'modern') return
    const caps = client.getServerCapabilities() ?? {}
    const previous = this.subscription
    try {
      const subscription = await client.listen({
        ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
        ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
        ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
        ...(this.subscribedUris.size && caps.resources ? { resourceSubscriptions: [...this.subscribedUris] } : {}),
      })
      this.subscription = subscription
      // The server ended the stream (it is stopping, it restarted, the stream broke): listen again (after a
      // second when the stream was short-lived); if nobody answers then, the server is gone.
      const opened = Date.now()
      void subscription.closed.then((cause) => {
        if (cause === 'local') return
        const again = () => this.subscription === subscription && this.client === client && void this.listen()
        setTimeout(again, Date.now() - opened > 1000 ? 0 : 1000).unref()
      })
    } catch (error) {
      const gone = this.client === client && this.status === 'connected' && classifyFailure(error) === 'transport'
      if (gone) this.markBroken(error)
      else this.lastError = `subscriptions/listen failed: ${messageOf(error)}`
    }
    await previous?.close().catch(() => {})
  }

  /** True when the server was asked for updates about some resource. */
  get subscribed(): boolean {
    return this.subscribedUris.size > 0
  }

  /** Asks the server for `notifications/resources/updated` about `uri`, in the era it speaks. */
  async subscribeResource(uri: string): Promise<void> {
    const client = this.client
    const resources = client?.getServerCapabilities()?.resources
    if (!client || !resources || this.subscribedUris.has(uri)) return
    // A 2026 server says in its listen acknowledgement which URIs it honours; a 2025 one must declare it.
    if (this.era === 'modern') {
      this.subscribedUris.add(uri)
      await this.listen()
    } else if (resources.subscribe) {
      this.subscribedUris.add(uri)
      await client.subscribeResource({ uri })
    }
  }
}
