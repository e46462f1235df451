// The list-change stage: tells 2025 sessions and 2026 listen streams that a merged list changed.
import type { LegacySession, ListKind, ModernNotifier } from '../calls/index.js'

/** Tells every client session and listen stream which lists changed. */
export function announce(kinds: ListKind[], sessions: Iterable<LegacySession>, notifiers: Iterable<ModernNotifier>): void {
  for (const kind of kinds) {
    for (const session of sessions) {
      const send = kind === 'tools' ? session.sendToolListChanged() : kind === 'prompts' ? session.sendPromptListChanged() : session.sendResourceListChanged()
      void Promise.resolve(send).catch(() => {})
    }
    for (const notifier of notifiers) {
      if (kind === 'tools') notifier.toolsChanged()
      else if (kind === 'prompts') notifier.promptsChanged()
      else notifier.resourcesChanged()
    }
  }
}
