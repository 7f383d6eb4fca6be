// The shared group list's cache, without the app around it (no toasts, no
// API instance): composables/useGroups.js makes the app's one; the tests
// their own.
import { computed, shallowRef } from 'vue'

export const MAX_AGE_MS = 60000

export function createGroupsStore({ list, onError = () => {}, now = () => Date.now() }) {
  const items = shallowRef([]) // the group documents, as GET /api/v1/groups answers them
  const names = computed(() => items.value.map((g) => g.name))
  let fetchedAt = 0
  let inflight = null

  // Fetches now (after a change: a fetch already under way may predate it);
  // the latest fetch's answer is kept. Resolves the items.
  let seq = 0
  function refresh({ quiet = false } = {}) {
    const mine = ++seq
    const request = Promise.resolve()
      .then(list)
      .then(
        (answer) => {
          if (mine === seq) {
            items.value = answer?.items || []
            fetchedAt = now()
          }
          return items.value
        },
        (e) => {
          if (!quiet && mine === seq) onError(e)
          return items.value
        },
      )
      .finally(() => {
        if (inflight === request) inflight = null
      })
    inflight = request
    return request
  }

  // Fetches unless fresh enough; resolves the items.
  function ensure() {
    if (inflight) return inflight
    if (fetchedAt && now() - fetchedAt < MAX_AGE_MS) return Promise.resolve(items.value)
    return refresh()
  }

  function reset() {
    items.value = []
    fetchedAt = 0
  }

  return { items, names, refresh, ensure, reset }
}
