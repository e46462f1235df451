import type { BalancerName } from '../types.js'

interface Member {
  inflight: number
}

/** Picks one member of a pool; round-robin keeps one counter per pool. */
export function createBalancer(strategy: BalancerName) {
  const counters = new Map<string, number>()
  const next = (pool: string) => {
    const count = counters.get(pool) ?? 0
    counters.set(pool, count + 1)
    return count
  }
  return function pick<M extends Member>(pool: string, members: M[]): M | undefined {
    if (members.length <= 1) return members[0]
    switch (strategy) {
      case 'random':
        return members[Math.floor(Math.random() * members.length)]
      case 'least-connections': {
        const least = Math.min(...members.map((m) => m.inflight))
        const tied = members.filter((m) => m.inflight === least)
        return tied[next(pool) % tied.length]
      }
      default:
        return members[next(pool) % members.length]
    }
  }
}
