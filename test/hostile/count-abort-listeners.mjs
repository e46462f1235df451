// Preloaded into the bridge by test/hostile/bridge.test.ts (NODE_OPTIONS=--import): counts the abort
// listeners ever added to each AbortSignal and reports on stderr each time one signal reaches another 100.
// A listener per call on a long-lived signal shows after 100 calls, whatever the garbage collector does.
const added = new WeakMap()
const original = EventTarget.prototype.addEventListener
EventTarget.prototype.addEventListener = function (type, listener, options) {
  if (type === 'abort' && this instanceof AbortSignal) {
    const count = (added.get(this) ?? 0) + 1
    added.set(this, count)
    if (count % 100 === 0) process.stderr.write(`abort listeners added to one signal: ${count}\n`)
  }
  return original.call(this, type, listener, options)
}
