/**
 * True for names that can only mean this machine: `localhost`, the IPv6 loopback and an IPv4 literal in
 * 127.0.0.0/8 written as four decimal octets. `127.0.0.1.evil.example` is a DNS name anyone can point
 * anywhere, so it is not loopback (the DNS-rebinding guard depends on this).
 */
export function isLoopbackHostname(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '')
  if (name === 'localhost' || name === '[::1]' || name === '::1') return true
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name)
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255) && Number(octets[1]) === 127
}

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
