// The client-facing side: the codecs of both eras (2025 sessions, 2026 per request, stdio), the one method table they decode into, and a client's surface (policies, discovery, the request guard).
export { createModernHttpFront, serveGatewayStdio } from './eras.js'
export { createFrontSession } from './front.js'
