import { afterAll, describe, expect, it } from 'vitest'
import { CallTelemetry } from '../../dist/telemetry/calls.js'
import { startOtlpReceiver } from '../helpers/otlp-receiver.js'

// One tracer provider per process: this file owns its worker's, configured by the OTEL_* variables.
const receiver = await startOtlpReceiver()
afterAll(() => receiver.close())

describe('OTEL_TRACES_SAMPLER', () => {
  it('honours always_off: the call still runs, its context is passed on unsampled, no span is exported', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint
    process.env.OTEL_TRACES_SAMPLER = 'always_off'
    const telemetry = new CallTelemetry('gateway', 'sampled-gateway')
    await telemetry.start({ metrics: false, sources: { sessions: () => 0 } })
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const seen: (Record<string, string> | undefined)[] = []
    const result = await telemetry.run({ server: 's', tool: 't', carriers: [{ traceparent: parent }] }, async (scope) => {
      seen.push(scope.propagate)
      return { content: [] }
    })
    expect(result).toEqual({ content: [] })
    // always_off ignores the sampled parent: the context goes on in the same trace, flagged not sampled.
    expect(seen[0]?.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/)
    await telemetry.stop()
    expect(receiver.spans).toEqual([])
  })
})
