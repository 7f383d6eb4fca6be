// The cron helper's data: GET /api/v1/cron/preview, debounced while the
// expression is typed, the latest answer wins (useLatest).
//
// `error`: the server refused the expression (400 naming `expr`; its
// message names the cron field: "field 3 (hour): 25 is out of range"). This
// is the one verdict that blocks saving.
// `warning`: the check could not be made (no answer, a 5xx, a 400 about
// something else such as the zone): shown as "could not check", not blocking;
// the server checks again when the job is saved.
// `loading`: a check is due or under way; settle() runs a due check now and
// resolves when the latest one is answered.
import { getCurrentInstance, onBeforeUnmount, ref, watch } from 'vue'
import { api as defaultApi } from '../api/index.js'
import { createLatest } from './useLatest.js'

// { error } for a verdict on the expression, { warning } for anything else.
export function classifyPreviewError(e) {
  if (e && e.status === 400 && e.field === 'expr') {
    return { error: String(e.rawMessage ?? e.message ?? '').replace(/^expr:\s*/, ''), warning: '' }
  }
  return { error: '', warning: (e && e.message) || String(e) }
}

export function useCronPreview(source, { delay = 300, count = 5, api = defaultApi } = {}) {
  const preview = ref(null)
  const error = ref('')
  const warning = ref('')
  const loading = ref(false)
  const latest = createLatest()
  let timer = null
  let due = null // the value a pending timer will check
  let inflight = null

  function check(value) {
    timer = null
    due = null
    loading.value = true
    const { expr, dialect, zone } = value
    const mine = latest
      .run((signal) => api.cronPreview({ expr, dialect: dialect || undefined, zone: zone || undefined, count }, { signal }))
      .then((r) => {
        if (r.stale) return
        loading.value = false
        if (r.error) {
          const c = classifyPreviewError(r.error)
          preview.value = null
          error.value = c.error
          warning.value = c.warning
        } else {
          preview.value = r.value
          error.value = ''
          warning.value = ''
        }
      })
    inflight = mine
    mine.finally(() => {
      if (inflight === mine) inflight = null
    })
    return mine
  }

  watch(
    source,
    (value) => {
      clearTimeout(timer)
      timer = null
      const expr = (value?.expr || '').trim()
      if (!expr) {
        latest.abort()
        due = null
        inflight = null
        preview.value = null
        error.value = ''
        warning.value = ''
        loading.value = false
        return
      }
      due = { ...value, expr }
      loading.value = true
      timer = setTimeout(() => check(due), delay)
    },
    { immediate: true, deep: true },
  )

  // Resolves once the expression as it stands now has been checked.
  async function settle() {
    if (timer) {
      clearTimeout(timer)
      check(due)
    }
    while (inflight) {
      const waiting = inflight
      await waiting
      if (inflight === waiting) break
    }
    return { error: error.value, warning: warning.value, preview: preview.value }
  }

  function stop() {
    clearTimeout(timer)
    timer = null
    latest.abort()
  }
  if (getCurrentInstance()) onBeforeUnmount(stop)

  return { preview, error, warning, loading, settle, stop }
}
