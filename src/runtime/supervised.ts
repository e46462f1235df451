/**
 * Under `airmcp start`/`airmcp dev` (`AIRMCP_SUPERVISED=1` and an IPC channel to the supervisor): when the
 * supervisor goes away, even killed with SIGKILL, the channel closes and `stop` runs, so no server is left
 * holding its port. Elsewhere it does nothing.
 */
export function stopWithSupervisor(stop: () => Promise<void>): void {
  if (!process.send || process.env.AIRMCP_SUPERVISED !== '1') return
  // The channel alone must not keep the process alive once the server has stopped.
  process.channel?.unref()
  process.once('disconnect', () => void stop().finally(() => process.exit(0)))
}
