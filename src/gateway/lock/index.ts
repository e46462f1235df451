// airmcp.lock: the file's format and verdicts (shared with `airmcp lock`), and the gate that holds back upstream tools that differ from it.
export { type HeldItem, LockGate, lockPathFrom } from './lock.js'
