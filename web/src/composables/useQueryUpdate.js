// setQuery(changes, { resetPage }) for pages whose filters are the URL's
// query (jobs, executions): router.replace with utils/query.js mergeQuery.
import { useRoute, useRouter } from 'vue-router'
import { mergeQuery } from '../utils/query.js'

export function useQueryUpdate({ defaults = {} } = {}) {
  const route = useRoute()
  const router = useRouter()
  return function setQuery(changes, { resetPage = true } = {}) {
    return router.replace({ query: mergeQuery(route.query, changes, { resetPage, defaults }) })
  }
}
