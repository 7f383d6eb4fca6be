// The cron helper's data: GET /api/v1/cron/preview, debounced while the
// expression is typed, older answers dropped. `error` is the server's
// message (it names the cron field: "field 3 (hour): 25 is out of range").
import { onBeforeUnmount, ref, watch } from 'vue'
import { api } from '../api/index.js'

export function useCronPreview(source, { delay = 300, count = 5 } = {}) {
  const preview = ref(null)
  const error = ref('')
  const loading = ref(false)
  let timer = null
  let controller = null

  async function run({ expr, dialect, zone }) {
    controller?.abort()
    controller = new AbortController()
    const mine = controller
    loading.value = true
    try {
      const answer = await api.cronPreview(
        { expr, dialect: dialect || undefined, zone: zone || undefined, count },
        { signal: mine.signal },
      )
      if (mine !== controller) return
      preview.value = answer
      error.value = ''
    } catch (e) {
      if (e.name === 'AbortError' || mine !== controller) return
      preview.value = null
      error.value = e.field === 'expr' ? e.rawMessage.replace(/^expr:\s*/, '') : e.message
    } finally {
      if (mine === controller) loading.value = false
    }
  }

  watch(
    source,
    (value) => {
      clearTimeout(timer)
      const expr = (value?.expr || '').trim()
      if (!expr) {
        controller?.abort()
        preview.value = null
        error.value = ''
        loading.value = false
        return
      }
      timer = setTimeout(() => run({ ...value, expr }), delay)
    },
    { immediate: true, deep: true },
  )

  onBeforeUnmount(() => {
    clearTimeout(timer)
    controller?.abort()
  })

  return { preview, error, loading }
}
