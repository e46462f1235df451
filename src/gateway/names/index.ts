// The names the gateway exposes: one catalog of tool and prompt names over every pool, a registration's renames and prefix, and apps' ui:// URIs made unique across pools.
export { APPS_EXTENSION, AppUris, asRequested, parsePoolUiUri } from './apps.js'
export { buildRoutes, refusedName, type Route } from './catalog.js'
export { offeredToolName, offeredTools, serverToolName, type ToolNaming, validateNaming } from './naming.js'
