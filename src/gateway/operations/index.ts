// Running the gateway: health and metrics routes, and the supervisor channel of a gateway started by `airmcp gateway`.
export { type Operations, startOperations } from './operations.js'
export { attachSupervisor } from './supervisor-channel.js'
