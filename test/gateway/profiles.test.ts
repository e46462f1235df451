// Capability profiles (issue 27 item 6): a client's profile from what it declared, what each profile is
// withheld (learned from members that count what they are asked), and a real 2026 server that decides per
// request, through a real gateway (2025 servers, stdio and HTTP: test/fidelity/hop.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeFidelityClients, connectThrough, startFidelityGateway, step } from '../fidelity/harness.js'
import type { HostileGateway } from '../hostile/harness.js'
import { killAll, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { capabilitiesOf, FULL_PROFILE, type OfferedNames, passedOn, profileOf, type ProfiledMember, ProfileViews } from '../../src/gateway/upstreams/profiles.js'

const APPS = { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } }

describe('profileOf', () => {
  it('reads the capabilities the gateway passes on; unknown capabilities are the full profile', () => {
    expect(profileOf(undefined)).toBe(FULL_PROFILE)
    expect(profileOf({})).toBe(0)
    expect(profileOf({ experimental: {}, tasks: {} })).toBe(0)
    expect(capabilitiesOf(profileOf({ elicitation: {} }))).toEqual({ elicitation: { form: {} } })
    expect(capabilitiesOf(profileOf({ elicitation: { url: {} } }))).toEqual({ elicitation: { url: {} } })
    expect(capabilitiesOf(profileOf({ sampling: { tools: {} }, roots: {} }))).toEqual({ sampling: {}, roots: { listChanged: true } })
    expect(capabilitiesOf(FULL_PROFILE)).toEqual({ sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true }, extensions: APPS })
    for (let profile = 0; profile <= FULL_PROFILE; profile++) expect(profileOf(capabilitiesOf(profile))).toBe(profile)
  })
})

/** A member offering `full` to the full profile and what `offers` says to the others; it counts what it is asked. */
function member(full: OfferedNames, offers: (capabilities: Record<string, unknown>) => OfferedNames) {
  const asked: number[] = []
  const m = {
    status: 'connected',
    tools: full.tools.map((name) => ({ name })),
    prompts: full.prompts.map((name) => ({ name })),
    asked,
    async offeredTo(profile: number) {
      asked.push(profile)
      return profile === FULL_PROFILE ? full : offers(capabilitiesOf(profile))
    },
  }
  return m satisfies ProfiledMember
}

const SAMPLING = profileOf({ sampling: {} })
const everythingLike = () =>
  member({ tools: ['echo', 'trigger-sampling'], prompts: ['simple'] }, (capabilities) => ({
    tools: capabilities.sampling ? ['echo', 'trigger-sampling'] : ['echo'],
    prompts: ['simple'],
  }))

describe('ProfileViews', () => {
  it('withholds what a fresh session declaring the full profile is offered and one declaring the client’s is not, learned once', async () => {
    const views = new ProfileViews()
    const server = everythingLike()
    const learning = [views.learn([server], 0), views.learn([server], 0)]
    expect(learning.every((l) => l instanceof Promise)).toBe(true)
    await Promise.all(learning)
    expect(views.learn([server], 0)).toBeUndefined()
    expect(views.hides('tools', 'trigger-sampling', [server], 0)).toBe(true)
    expect(views.hides('tools', 'echo', [server], 0)).toBe(false)
    expect(views.hides('prompts', 'simple', [server], 0)).toBe(false)
    await views.learn([server], SAMPLING)
    expect(views.hides('tools', 'trigger-sampling', [server], SAMPLING)).toBe(false)
    // The reference once, then each profile once, however many ask.
    expect(server.asked.sort()).toEqual([0, SAMPLING, FULL_PROFILE].sort())
  })

  it('asks a server that withholds nothing from a client declaring nothing no more, for any profile', async () => {
    const views = new ProfileViews()
    const plain = member({ tools: ['a', 'b'], prompts: [] }, () => ({ tools: ['a', 'b'], prompts: [] }))
    for (let profile = 0; profile < FULL_PROFILE; profile++) await views.learn([plain], profile)
    expect(plain.asked.sort()).toEqual([0, FULL_PROFILE].sort())
    expect(views.hides('tools', 'b', [plain], 5)).toBe(false)
  })

  it('learns again when the member’s names change, not when only its descriptions do', async () => {
    const views = new ProfileViews()
    const server = everythingLike()
    await views.learn([server], 0)
    views.listsChanged(server)
    expect(views.learn([server], 0)).toBeUndefined()
    server.tools = [...server.tools, { name: 'new-tool' }]
    views.listsChanged(server)
    await views.learn([server], 0)
    expect(server.asked.filter((profile) => profile === 0)).toHaveLength(2)
  })

  it('a member that cannot say withholds nothing; a pool hides a name only when every member that knows withholds it', async () => {
    const views = new ProfileViews()
    const broken = member({ tools: ['echo', 'trigger-sampling'], prompts: [] }, () => {
      throw new Error('probe failed')
    })
    const server = everythingLike()
    await views.learn([broken, server], 0)
    expect(views.hides('tools', 'trigger-sampling', [server], 0)).toBe(true)
    expect(views.hides('tools', 'trigger-sampling', [broken, server], 0)).toBe(false)
    // A member not connected is not asked and decides nothing.
    const down = { ...everythingLike(), status: 'error' }
    expect(views.learn([down], 0)).toBeUndefined()
    expect(views.hides('tools', 'trigger-sampling', [down], 0)).toBe(false)
  })
})

describe('passedOn', () => {
  it('declares a client’s own words for what the gateway passes on, and nothing else', () => {
    const declared = { sampling: { tools: {} }, roots: {}, elicitation: { form: { applyDefaults: true } }, tasks: {}, extensions: { ...APPS, other: {} } }
    expect(passedOn(declared)).toEqual({ sampling: { tools: {} }, roots: {}, elicitation: { form: { applyDefaults: true } }, extensions: APPS })
    expect(passedOn({})).toEqual({})
    expect(passedOn(undefined)).toEqual(capabilitiesOf(FULL_PROFILE))
  })
})

describe('a 2026 server that offers a tool by what each request declared, through the gateway', () => {
  let gateway: HostileGateway
  beforeAll(async () => {
    const upstream = await startListening([...TSX_NODE_ARGS, 'fixtures/servers/capability-tools.ts'])
    gateway = await startFidelityGateway([{ id: 'caps', name: 'caps', connection: { type: 'http', url: upstream.url } }])
  }, 60_000)
  afterAll(async () => {
    await closeFidelityClients()
    await killAll()
  })

  it.each(['2025', '2026'] as const)('a %s client is offered ask_llm only when it declares sampling, and otherwise it is an unknown tool', async (era) => {
    const plain = await connectThrough(gateway, { era })
    const sampling = await connectThrough(gateway, { era, capabilities: { sampling: {} } })
    const names = async (client: typeof plain) => (await client.listTools()).tools.map((tool) => tool.name).sort()
    expect(await names(plain)).toEqual(['echo'])
    expect(await names(sampling)).toEqual(['ask_llm', 'echo'])
    expect((await step('call', () => plain.callTool({ name: 'ask_llm' }))).outcome).toEqual({ error: { code: -32602, message: 'Unknown tool "ask_llm".' } })
    expect((await step('call', () => sampling.callTool({ name: 'ask_llm' }))).outcome).toEqual({ content: [{ type: 'text', text: 'ask_llm ran' }] })
    await Promise.all([plain.close(), sampling.close()])
  }, 60_000)
})
