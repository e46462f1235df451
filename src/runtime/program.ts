import { ListenError } from '../http/listen.js'

/**
 * What the library does when it owns the process: a program started from the seed's code, where the server
 * or gateway is the program (`handleSignals` not false, the default). This is the one module of the runtime
 * and gateway that ends the process; with `handleSignals: false` (embedding) none of it runs, and signals,
 * `stop()` and `start()`'s errors are the embedding program's to handle.
 */

/**
 * Ctrl-C (SIGINT) or SIGTERM stop everything cleanly, then end the process with code 0, as Node would on
 * those signals without a handler (a timer or socket of the program's own must not keep it running).
 * Returns what removes the handlers, for `stop()`.
 */
export function stopOnSignals(stop: () => Promise<void>): () => void {
  const onSignal = () => void stop().then(() => process.exit(0))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * A port that cannot be bound ends a program that owns its process with the one line it deserves on stderr
 * and exit code 1 (no stack trace); any other error, or any error of an embedded one, is thrown on.
 */
export function failedToStart(error: unknown, ownsProcess: boolean): never {
  if (error instanceof ListenError && ownsProcess) {
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
  throw error
}

/**
 * Under `airmcp start`/`airmcp dev` (`supervised`, from `AIRMCP_SUPERVISED=1`, and an IPC channel to the
 * supervisor): when the supervisor goes away, even killed with SIGKILL, the channel closes, `stop` runs and
 * the process ends, so no server is left holding its port. Elsewhere it does nothing.
 */
export function stopWithSupervisor(stop: () => Promise<void>, supervised: boolean): void {
  if (!process.send || !supervised) return
  // The channel alone must not keep the process alive once the server has stopped.
  process.channel?.unref()
  process.once('disconnect', () => void stop().finally(() => process.exit(0)))
}
