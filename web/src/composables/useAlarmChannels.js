// The alarm channels (without their secrets), fetched once for the pages
// that offer them by name: the rule editor (the job form, the rules page)
// and the alarm history's filter. The channels page refreshes them after
// every change. Same cache as the groups (groups-store.js: a list fetched
// again when older than a minute, the latest answer kept).
//
// A server without alarms (older than issue 9) answers 404: no channels,
// and `unsupported` says so.
import { ref } from 'vue'
import { api } from '../api/index.js'
import { createGroupsStore } from './groups-store.js'
import { notifyError } from './notify.js'

const unsupported = ref(false)

const store = createGroupsStore({
  list: async () => {
    try {
      const answer = await api.listAlarmChannels()
      unsupported.value = false
      return answer
    } catch (e) {
      if (e.status !== 404) throw e
      unsupported.value = true
      return { items: [] }
    }
  },
  onError: notifyError,
})

export const refreshAlarmChannels = (options) => store.refresh(options)

// { channels: documents, refresh, unsupported }; fetches if not fresh
// (unless `ensure` is false: the caller refreshes when it needs them).
export function useAlarmChannels({ ensure = true } = {}) {
  if (ensure) store.ensure()
  return { channels: store.items, refresh: store.refresh, unsupported }
}
