// The groups, fetched once and shared by every page that offers them as a
// filter (jobs, executions, plans, workers, snapshots, the job form). A page
// opened later than MAX_AGE_MS after the last fetch refreshes them in the
// background; creating or deleting a group (or saving a job, which may name
// a new one) calls refreshGroups().
import { api } from '../api/index.js'
import { createGroupsStore } from './groups-store.js'
import { notifyError } from './notify.js'

export { MAX_AGE_MS } from './groups-store.js'

const store = createGroupsStore({ list: () => api.listGroups(), onError: notifyError })

export const refreshGroups = (options) => store.refresh(options)
export const resetGroups = () => store.reset()

// { groups: names, items: documents, refresh }; fetches if not fresh.
export function useGroups() {
  store.ensure()
  return { groups: store.names, items: store.items, refresh: store.refresh }
}
