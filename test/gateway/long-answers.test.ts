// Long strings of an upstream's answer (an app's HTML, a large text) pass through a real gateway process as
// the upstream wrote them, not re-escaped and re-encoded (issue 25: "streamed, not buffered twice"), to
// 2025 and 2026 clients alike, with the values a client reading the upstream directly gets; an answer that
// is not JSON still fails its call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { longTextAnswer } from '../../fixtures/servers/long-text.js'
import { killAll, type Started, startListening, TSX_NODE_ARGS } from '../helpers/processes.js'
import { post2026 } from '../helpers/wire-2026.js'
import { rawSession, startGateway, startRawUpstream, TOKEN, type HostileGateway } from '../hostile/harness.js'

let raw: Started
/** An airmcp server with a 1 MiB app page (the bench's), behind the gateway with a tool prefix. */
let app: Started
const APP_BYTES = String(1024 * 1024)
const APP_URI = 'ui://bundle/app.html'
let gateway: HostileGateway
/** A gateway whose clients may hold little unsent: an answer larger than that still goes out whole. */
let small: HostileGateway

beforeAll(async () => {
  ;[raw, app] = await Promise.all([
    startRawUpstream(),
    startListening([...TSX_NODE_ARGS, 'fixtures/servers/app-runtime.ts'], { env: { TRANSPORT: 'http', AIRMCP_PORT: '0', APP_BYTES } }),
  ])
  const registrations = [
    { id: 'raw-1', name: 'raw', connection: { type: 'http' as const, url: raw.url } },
    { id: 'stdio-1', name: 'stdio', connection: { type: 'stdio' as const, command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/raw-stdio-upstream.ts'] } },
    // The app server over HTTP (2026 to it) and on stdio (2025 to it), each with a tool prefix: its URI is renamed.
    { id: 'app-1', name: 'app', tools: { prefix: 'a_' }, connection: { type: 'http' as const, url: app.url } },
    {
      id: 'appstdio-1',
      name: 'appstdio',
      protocol: '2025-11-25' as const,
      tools: { prefix: 's_' },
      connection: { type: 'stdio' as const, command: 'node', args: [...TSX_NODE_ARGS, 'fixtures/servers/app-runtime.ts'], env: { TRANSPORT: 'stdio', APP_BYTES } },
    },
  ]
  ;[gateway, small] = await Promise.all([startGateway({}, registrations), startGateway({ maxBufferedBytesPerClient: 32 * 1024 }, registrations)])
}, 60_000)

afterAll(() => killAll())

type Answer = { result?: { content: { text: string }[]; structuredContent?: Record<string, unknown> }; error?: { message: string } }

const callBody = (name: string, kind: string) => requestBody('tools/call', { name, arguments: { text: kind } })
const requestBody = (method: string, params: object) => JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })

/** The upstream's own answer, read directly: what JSON.parse of its UTF-8 text gives. */
async function direct(kind: string): Promise<Answer> {
  const res = await fetch(raw.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: callBody('longtext', kind) })
  return JSON.parse(Buffer.from(await res.arrayBuffer()).toString('utf8')) as Answer
}

/** A request's answer, as its text. */
type Send = (url: string, method: string, params: Record<string, unknown>) => Promise<string>

/** On a 2025 session. */
const send2025: Send = async (url, method, params) => (await (await rawSession(url)).post(requestBody(method, params))).body

/** As a 2026 request. */
const send2026: Send = async (url, method, params) => Buffer.from(await (await post2026({ url, token: TOKEN, capabilities: {} }, method, params)).arrayBuffer()).toString('utf8')

/** The gateway's answer to a `tools/call` of `tool` on the era's wire, as its text. */
const calling = (send: Send) => async (kind: string, at = gateway, tool = 'longtext') => send(at.url, 'tools/call', { name: tool, arguments: { text: kind } })
const through2025 = calling(send2025)
const through2026 = calling(send2026)

type Read = { result?: { contents: { uri: string; text: string }[] }; error?: { message: string } }

/** The upstream's escapes, as no JSON.stringify writes them (it writes é, / and the emoji as themselves). */
const SERVER_ESCAPES = 'caf\\u00e9 \\/ \\"q\\" \\ud83d\\ude00 h\u00e9llo \u2713\\n'.repeat(8)

describe.each([
  ['2025-11-25', through2025, send2025],
  ['2026-07-28', through2026, send2026],
] as const)('long strings through the gateway, %s client', (_era, through, send) => {
  it('reads a 1 MiB app page under its renamed URI twice, the same text as a direct read each time', async () => {
    const expected = (JSON.parse(await send2025(app.url, 'resources/read', { uri: APP_URI })) as Read).result!.contents[0]!.text
    expect(expected.length).toBe(Number(APP_BYTES))
    for (const pool of ['app', 'appstdio']) {
      const uri = `ui://airmcp~${pool}/bundle/app.html`
      for (const _time of [1, 2]) {
        const read = JSON.parse(await send(gateway.url, 'resources/read', { uri })) as Read
        expect(read.result?.contents.map((c) => c.uri)).toEqual([uri])
        expect(read.result!.contents[0]!.text === expected).toBe(true)
      }
    }
  })

  it('passes long strings on as the upstream wrote them, with the values a direct read gives', async () => {
    const [expected, text] = await Promise.all([direct('escaped'), through('escaped')])
    const answer = JSON.parse(text) as Answer
    expect(answer.result?.content).toEqual(expected.result!.content)
    expect(answer.result?.structuredContent).toEqual(expected.result!.structuredContent)
    expect(text.includes(SERVER_ESCAPES)).toBe(true)
  })

  it("passes a stdio upstream's long strings on as it wrote them", async () => {
    const expected = JSON.parse(longTextAnswer(1, 'escaped').toString('utf8')) as Answer
    const text = await through('escaped', gateway, 'stdiotext')
    const answer = JSON.parse(text) as Answer
    expect(answer.result?.content).toEqual(expected.result!.content)
    expect(answer.result?.structuredContent).toEqual(expected.result!.structuredContent)
    expect(text.includes(SERVER_ESCAPES)).toBe(true)
  })

  it('reads an answer with a long object key, and one with bytes that are not UTF-8, as a direct read does', async () => {
    for (const kind of ['key', 'latin1']) {
      const [expected, text] = await Promise.all([direct(kind), through(kind)])
      const answer = JSON.parse(text) as Answer
      expect(answer.result?.content).toEqual(expected.result!.content)
      expect(answer.result?.structuredContent).toEqual(expected.result!.structuredContent)
    }
  })

  it('sends an answer many times maxBufferedBytesPerClient whole to a client that reads it', async () => {
    const [expected, text] = await Promise.all([direct('escaped'), through('escaped', small)])
    expect(text.length).toBeGreaterThan(4 * 32 * 1024)
    expect((JSON.parse(text) as Answer).result?.content).toEqual(expected.result!.content)
  })

  it('fails a call whose long string holds a raw control character (not JSON), as it did', async () => {
    const answer = JSON.parse(await through('control')) as Answer
    expect(answer.error?.message).toMatch(/answered with something that is not JSON-RPC/)
  })
})
