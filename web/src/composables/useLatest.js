// "The latest request wins": each call aborts the one before it, and an
// answer that lands after a newer call started (a slow poll, a filter
// changed twice quickly) is dropped instead of overwriting the newer one.
//
//   const latest = useLatest()
//   async function load() {
//     const r = await latest.run((signal) => api.listWorkers(group, { signal }))
//     if (r.stale) return            // a newer call owns the page now
//     if (r.error) return notifyError(r.error)
//     rows.value = r.value.items
//   }
//
// run() never throws: it resolves { stale, value, error }. begin() is the
// lower level: { signal, isLatest() } for callers that need more than one
// await. useLatest() also aborts when the component goes.
import { getCurrentInstance, onBeforeUnmount } from 'vue'

export const isAbortError = (e) => Boolean(e) && (e.name === 'AbortError' || e.code === 20)

const STALE = Object.freeze({ stale: true, value: undefined, error: null })

export function createLatest() {
  let current = null

  function begin() {
    current?.abort()
    const controller = new AbortController()
    current = controller
    return {
      signal: controller.signal,
      isLatest: () => current === controller && !controller.signal.aborted,
    }
  }

  async function run(fn) {
    const call = begin()
    try {
      const value = await fn(call.signal)
      return call.isLatest() ? { stale: false, value, error: null } : STALE
    } catch (error) {
      if (!call.isLatest() || isAbortError(error)) return STALE
      return { stale: false, value: undefined, error }
    }
  }

  // Gives up the call under way (its answer will be stale).
  function abort() {
    current?.abort()
    current = null
  }

  return { run, begin, abort }
}

export function useLatest() {
  const latest = createLatest()
  if (getCurrentInstance()) onBeforeUnmount(latest.abort)
  return latest
}
