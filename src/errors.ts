/** A user-facing failure: what failed (naming the input), a code, and what to try instead. */
export class AirmcpError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly suggestion?: string,
  ) {
    super(message)
    this.name = 'AirmcpError'
  }
}
