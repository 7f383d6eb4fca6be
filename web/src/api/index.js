// The Forest REST v1 API (src/api/openapi/*.json in the repository), one
// function per operation. `api` is the app's instance; tests build their own
// with createApi({ fetch }).
import { createClient } from './client.js'

export { ApiError, createClient, messageWithField, toQuery } from './client.js'

const e = encodeURIComponent

export function createApi(options = {}) {
  const c = createClient(options)

  return {
    client: c,
    setCsrfToken: c.setCsrfToken,
    setUnauthorizedHandler: c.setUnauthorizedHandler,

    // auth.json
    async login(user, password) {
      const info = await c.post('/api/v1/login', { user, password }, { expectUnauthorized: true })
      c.setCsrfToken(info?.csrfToken)
      return info
    },
    async logout() {
      try {
        return await c.post('/api/v1/logout', undefined, { expectUnauthorized: true })
      } finally {
        c.setCsrfToken('')
      }
    },
    // Who is logged in; a 401 here only means "nobody" and is answered null.
    async session() {
      try {
        const info = await c.get('/api/v1/session', { expectUnauthorized: true })
        c.setCsrfToken(info?.csrfToken)
        return info
      } catch (err) {
        if (err.status === 401) return null
        throw err
      }
    },
    listUsers: () => c.get('/api/v1/users'),
    createUser: (user) => c.post('/api/v1/users', user),
    updateUser: (name, changes) => c.put(`/api/v1/users/${e(name)}`, changes),
    deleteUser: (name) => c.del(`/api/v1/users/${e(name)}`),
    listTokens: (user) => c.get('/api/v1/tokens', { query: { user } }),
    createToken: (name) => c.post('/api/v1/tokens', { name }),
    revokeToken: (id) => c.del(`/api/v1/tokens/${e(id)}`),
    listAudit: (query) => c.get('/api/v1/audit', { query }),

    // catalog.json
    listJobs: (query, options) => c.get('/api/v1/jobs', { query, ...options }),
    getJob: (id) => c.get(`/api/v1/jobs/${e(id)}`),
    createJob: (job) => c.post('/api/v1/jobs', job),
    updateJob: (id, job) => c.put(`/api/v1/jobs/${e(id)}`, job),
    deleteJob: (id) => c.del(`/api/v1/jobs/${e(id)}`),
    pauseJob: (id) => c.post(`/api/v1/jobs/${e(id)}/pause`),
    resumeJob: (id) => c.post(`/api/v1/jobs/${e(id)}/resume`),
    // params: a string that replaces the job's params for this run, or undefined.
    runJob: (id, params) =>
      c.post(`/api/v1/jobs/${e(id)}/run`, params === undefined ? {} : { params }),
    nextFires: (id, count = 5) => c.get(`/api/v1/jobs/${e(id)}/next`, { query: { count } }),
    listGroups: () => c.get('/api/v1/groups'),
    createGroup: (group) => c.post('/api/v1/groups', group),
    updateGroup: (name, group) => c.put(`/api/v1/groups/${e(name)}`, group),
    deleteGroup: (name) => c.del(`/api/v1/groups/${e(name)}`),

    // cluster.json
    listNodes: () => c.get('/api/v1/nodes'),
    listWorkers: (group) => c.get('/api/v1/workers', { query: { group } }),
    listPlans: (group, { before, limit } = {}) =>
      c.get('/api/v1/plans', { query: { group, before, limit } }),
    listAssignments: (query) => c.get('/api/v1/assignments', { query }),
    deleteAssignment: ({ group, worker, id }) =>
      c.del(`/api/v1/assignments/${e(group)}/${e(worker)}/${e(id)}`),
    cronPreview: (query, options) => c.get('/api/v1/cron/preview', { query, ...options }),

    // history.json
    listExecutions: (query, options) => c.get('/api/v1/executions', { query, ...options }),
    getExecution: (id) => c.get(`/api/v1/executions/${e(id)}`),
    killExecution: (id, reason) =>
      c.post(`/api/v1/executions/${e(id)}/kill`, reason ? { reason } : {}),
    stats: (query) => c.get('/api/v1/stats', { query }),
    overview: () => c.get('/api/v1/stats/overview'),
  }
}

export const api = createApi()
export default api
