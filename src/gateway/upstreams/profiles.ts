// Capability profiles: what an upstream offers a client depends on what that client declared (sampling, elicitation, roots, the apps extension), as direct.
import { APPS_EXTENSION } from '../names/index.js'
import type { Params } from '../calls/index.js'

const SAMPLING = 1
const ELICITATION_FORM = 2
const ELICITATION_URL = 4
const ROOTS = 8
const APPS = 16
/** Everything the gateway declares to its upstreams: the catalog is built on connections declaring it. */
export const FULL_PROFILE = SAMPLING | ELICITATION_FORM | ELICITATION_URL | ROOTS | APPS

const [APPS_ID] = Object.keys(APPS_EXTENSION)

/**
 * A client's capability profile: which of the capabilities the gateway passes on it declared, as bits.
 * Capabilities nobody stated (a 2025 stdio front, a 2026 request without the envelope key) are taken as the
 * full profile: the catalog as it is, as before profiles.
 */
export function profileOf(capabilities: Params | undefined): number {
  if (!capabilities) return FULL_PROFILE
  let profile = 0
  if (capabilities.sampling !== undefined) profile |= SAMPLING
  const elicitation = capabilities.elicitation as Params | undefined
  // `elicitation: {}` is form mode (the spec's reading of an empty object).
  if (elicitation !== undefined) profile |= (elicitation.url !== undefined ? ELICITATION_URL : 0) | (elicitation.form !== undefined || elicitation.url === undefined ? ELICITATION_FORM : 0)
  if (capabilities.roots !== undefined) profile |= ROOTS
  if ((capabilities.extensions as Params | undefined)?.[APPS_ID] !== undefined) profile |= APPS
  return profile
}

/** The capabilities a connection declares upstream for `profile` (for the full profile, the gateway's own). */
export function capabilitiesOf(profile: number): Params {
  const elicitation = { ...(profile & ELICITATION_FORM ? { form: {} } : {}), ...(profile & ELICITATION_URL ? { url: {} } : {}) }
  return {
    ...(profile & SAMPLING ? { sampling: {} } : {}),
    ...(profile & (ELICITATION_FORM | ELICITATION_URL) ? { elicitation } : {}),
    ...(profile & ROOTS ? { roots: { listChanged: true } } : {}),
    ...(profile & APPS ? { extensions: APPS_EXTENSION } : {}),
  }
}

/**
 * What a connection serving one client declares upstream: that client's own capabilities among those the
 * gateway passes on (their sub-fields too: `sampling.tools`, `roots.listChanged`), as it declared them direct.
 */
export function passedOn(capabilities: Params | undefined): Params {
  if (!capabilities) return capabilitiesOf(FULL_PROFILE)
  const { sampling, elicitation, roots } = capabilities
  const apps = (capabilities.extensions as Params | undefined)?.[APPS_ID]
  return {
    ...(sampling !== undefined ? { sampling } : {}),
    ...(elicitation !== undefined ? { elicitation } : {}),
    ...(roots !== undefined ? { roots } : {}),
    ...(apps !== undefined ? { extensions: { [APPS_ID]: apps } } : {}),
  }
}

/** Tool and prompt names as a registration offers them (after its renames and prefix). */
export interface OfferedNames {
  tools: string[]
  prompts: string[]
}

/** The names one profile is not offered, per list kind. */
export interface Withheld {
  tools: ReadonlySet<string>
  prompts: ReadonlySet<string>
}

const NOTHING: Withheld = { tools: new Set(), prompts: new Set() }
/** A client that declared none of the capabilities the gateway passes on. */
const NO_CAPABILITIES = 0

/** A member as the profiles see it. */
export interface ProfiledMember {
  readonly status: string
  readonly tools: readonly { name: string }[]
  readonly prompts: readonly { name: string }[]
  /** What a client declaring `profile` is offered (for the full profile of a 2026 server, the member's own lists). */
  offeredTo(profile: number): Promise<OfferedNames>
}

interface MemberViews {
  /** The member's names when these views were learned: a change of names (not of descriptions) learns them again. */
  names: string
  /** What the full profile is offered on a fresh session: what the others are compared with. */
  reference?: Promise<OfferedNames>
  withheld: Map<number, Withheld | Promise<Withheld>>
}

/** The names of a member's lists as one string (names have no control characters: list-intake.ts drops such items). */
function namesOf(member: ProfiledMember): string {
  return `${member.tools.map((tool) => tool.name).join('\n')}\u0000${member.prompts.map((prompt) => prompt.name).join('\n')}`
}

function without(all: string[], kept: string[]): ReadonlySet<string> {
  const keep = new Set(kept)
  return new Set(all.filter((name) => !keep.has(name)))
}

/**
 * What each profile narrower than the full one is not offered by each member, learned once per member and
 * profile (on the first list or call by such a client) and kept until that member's names change. What a
 * profile is withheld is what a fresh session declaring the full profile is offered and one declaring that
 * profile is not: tools a server added later (to its shared session, by a call) are never withheld. A
 * server that withholds nothing from a client declaring nothing withholds nothing from any profile (more
 * capabilities never take a tool away), so most servers are asked twice in all. A lookup is a map hit; the
 * full profile never looks. A member that cannot be asked withholds nothing (its clients see the catalog)
 * until its names change.
 */
export class ProfileViews {
  private readonly byMember = new WeakMap<ProfiledMember, MemberViews>()

  /** What `profile` is withheld by `member`: known (a map hit) or being learned. */
  private withheld(member: ProfiledMember, profile: number): Withheld | Promise<Withheld> {
    let views = this.byMember.get(member)
    if (!views) this.byMember.set(member, (views = { names: namesOf(member), withheld: new Map() }))
    const known = views.withheld.get(profile)
    if (known) return known
    const learnedOn = views
    const compared = () => this.compare(member, learnedOn, profile)
    const learning =
      profile === NO_CAPABILITIES
        ? compared()
        : Promise.resolve(this.withheld(member, NO_CAPABILITIES)).then((none) => (none.tools.size || none.prompts.size ? compared() : NOTHING))
    views.withheld.set(profile, learning)
    // Kept as a plain value (a map hit from now on) while the member's names are the ones it was learned from.
    void learning.then((withheld) => {
      if (this.byMember.get(member) === learnedOn && learnedOn.withheld.get(profile) === learning) learnedOn.withheld.set(profile, withheld)
    })
    return learning
  }

  /** What a fresh full-profile session is offered and a `profile` one is not; nothing when the member cannot say. */
  private compare(member: ProfiledMember, views: MemberViews, profile: number): Promise<Withheld> {
    views.reference ??= member.offeredTo(FULL_PROFILE)
    return Promise.all([views.reference, member.offeredTo(profile)]).then(
      ([all, offered]) => ({ tools: without(all.tools, offered.tools), prompts: without(all.prompts, offered.prompts) }),
      () => NOTHING,
    )
  }

  /** Resolves once what `profile` is withheld by every connected member of `members` is known; undefined when it already is. */
  learn(members: readonly ProfiledMember[], profile: number): Promise<void> | undefined {
    let learning: Promise<Withheld>[] | undefined
    for (const member of members) {
      if (member.status !== 'connected') continue
      const withheld = this.withheld(member, profile)
      if (withheld instanceof Promise) (learning ??= []).push(withheld)
    }
    return learning && Promise.all(learning).then(() => undefined)
  }

  /** True when every member of `name`'s pool that is known withholds it from `profile` (after learn). */
  hides(kind: keyof Withheld, name: string, members: readonly ProfiledMember[], profile: number): boolean {
    let known = false
    for (const member of members) {
      const withheld = this.byMember.get(member)?.withheld.get(profile)
      if (!withheld || withheld instanceof Promise) continue
      if (!withheld[kind].has(name)) return false
      known = true
    }
    return known
  }

  /** The member's lists changed (a list_changed, a reconnect): when its names did, what it withholds is learned again. */
  listsChanged(member: ProfiledMember): void {
    const views = this.byMember.get(member)
    if (views && views.names !== namesOf(member)) this.byMember.delete(member)
  }
}
