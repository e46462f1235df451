// The stages after a client's surface: route (the router), era bridge, forwarding (deadlines, queueing, failover), merged lists, server messages, subscriptions, announcements and tasks.
export type { MergedLists } from './merged-lists.js'
export { Router } from './router.js'
export { LEGACY_TASK_METHODS, TASK_METHODS, TaskIds, type TaskMethod } from './tasks.js'
