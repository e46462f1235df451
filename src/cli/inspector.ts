import { AirmcpError } from '../errors.js'

/** A release of the official MCP Inspector, the Node it needs, and how it can be pointed at a server. */
export interface InspectorRelease {
  version: string
  /** The lowest Node it runs on (its `engines.node`; releases before 0.16 declared none and run on Node 20). */
  node: string
  /** `url+header`: `--transport http --server-url U --header H`; `url`: the first two only; `none`: typed in its form. */
  accepts: 'url+header' | 'url' | 'none'
}

/**
 * Newest first, from `npm view @modelcontextprotocol/inspector engines` across versions (December 2026): 2.x
 * needs Node 22.19, 0.16–1.x Node 22.7.5, 0.15.0 is the last that runs on Node 20. Pinned, so `inspect` runs
 * what was checked.
 */
export const INSPECTOR_RELEASES: InspectorRelease[] = [
  { version: '2.12.0', node: '22.19.0', accepts: 'url+header' },
  { version: '1.0.3', node: '22.7.5', accepts: 'url' },
  { version: '0.15.0', node: '20.0.0', accepts: 'none' },
]

export interface InspectorChoice {
  release: InspectorRelease
  /** Set when an older release was chosen: what the newest one needs. */
  newest?: InspectorRelease
}

/** The newest Inspector that runs on `nodeVersion` (as `process.versions.node`). */
export function chooseInspector(nodeVersion: string, releases: InspectorRelease[] = INSPECTOR_RELEASES): InspectorChoice {
  const release = releases.find((r) => compareVersions(nodeVersion, r.node) >= 0)
  if (!release) {
    throw new AirmcpError(
      'NODE_TOO_OLD',
      `The MCP Inspector needs Node ${releases.at(-1)?.node} or newer (its latest, ${releases[0].version}, Node ${releases[0].node}); this is Node ${nodeVersion}.`,
      `install Node ${releases[0].node} or newer (e.g. with nvm install 22), then run airmcp inspect again.`,
    )
  }
  return release === releases[0] ? { release } : { release, newest: releases[0] }
}

export interface InspectorCommand {
  command: string
  args: string[]
  /** The command as printed: the token stands as $AIRMCP_GATEWAY_TOKEN, never its value. */
  display: string
  /** What to do in the Inspector's form for what its command line cannot say. */
  steps: string[]
}

/** `npx @modelcontextprotocol/inspector@V …` pointed at the gateway's endpoint, with its token where the release takes one. */
export function inspectorCommand(release: InspectorRelease, endpoint: string, token: string | undefined): InspectorCommand {
  const base = ['--yes', `@modelcontextprotocol/inspector@${release.version}`]
  const target = release.accepts === 'none' ? [] : ['--transport', 'http', '--server-url', endpoint]
  const header = (value: string) => (token && release.accepts === 'url+header' ? ['--header', `Authorization: Bearer ${value}`] : [])
  const steps = [
    ...(release.accepts === 'none' ? [`Transport Type: Streamable HTTP, URL: ${endpoint}, then Connect.`] : []),
    ...(token && release.accepts !== 'url+header' ? ['Authentication: Bearer Token = the value of AIRMCP_GATEWAY_TOKEN (or --token).'] : []),
  ]
  const quote = (arg: string) => (/^[\w@./:=-]+$/.test(arg) ? arg : `"${arg}"`)
  return {
    command: 'npx',
    args: [...base, ...target, ...header(token ?? '')],
    display: ['npx', ...base, ...target, ...header('$AIRMCP_GATEWAY_TOKEN')].map(quote).join(' '),
    steps,
  }
}

/** -1, 0 or 1 as `a` is older, the same as or newer than `b` (numeric x.y.z). */
export function compareVersions(a: string, b: string): number {
  const left = a.replace(/^v/, '').split('.').map(Number)
  const right = b.replace(/^v/, '').split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0)
    if (difference) return Math.sign(difference)
  }
  return 0
}
