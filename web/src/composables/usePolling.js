// Calls `fn` every `intervalMs` while `enabled()` is true and the page is
// visible; stops when the component goes. A call still running is not
// overlapped by the next one.
import { onBeforeUnmount, watch } from 'vue'

export function usePolling(fn, intervalMs, enabled = () => true) {
  let timer = null
  let busy = false

  async function tick() {
    if (busy || (globalThis.document && document.hidden)) return
    busy = true
    try {
      await fn()
    } catch {
      // the caller shows its own errors; keep polling
    } finally {
      busy = false
    }
  }

  function stop() {
    if (timer) clearInterval(timer)
    timer = null
  }
  function start() {
    if (!timer) timer = setInterval(tick, intervalMs)
  }

  watch(() => Boolean(enabled()), (on) => (on ? start() : stop()), { immediate: true })
  onBeforeUnmount(stop)
  return { stop, start }
}
