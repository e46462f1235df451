/** The hostname of a Host header (`name`, `name:port`, `[v6]:port`), lower-cased; '' when malformed. */
export function hostnameOfHostHeader(host: string): string {
  const value = host.trim().toLowerCase()
  if (value.startsWith('[')) {
    const end = value.indexOf(']')
    return end > 0 && /^(:\d{1,5})?$/.test(value.slice(end + 1)) ? value.slice(0, end + 1) : ''
  }
  const match = /^([^:]+)(:\d{1,5})?$/.exec(value)
  return match ? match[1] : ''
}
