// The Forest REST v1 API (src/api/openapi/*.json in the repository), one
// function per operation. `api` is the app's instance; tests build their own
// with createApi({ fetch }).
import { createClient } from './client.js'

export { ApiError, createClient, isCsrfError, messageWithField, toQuery } from './client.js'

const e = encodeURIComponent

// The global default alarm rule, or a group's ({ group: name }).
const alarmRulePath = (scope) =>
  scope && typeof scope === 'object' ? `/api/v1/alarm-rules/groups/${e(scope.group)}` : '/api/v1/alarm-rules/global'

export function createApi(options = {}) {
  const c = createClient(options)

  return {
    client: c,
    setCsrfToken: c.setCsrfToken,
    setUnauthorizedHandler: c.setUnauthorizedHandler,
    setSessionHandler: c.setSessionHandler,
    setTranslator: c.setTranslator,

    // auth.json
    async login(user, password) {
      const info = await c.post('/api/v1/login', { user, password }, { expectUnauthorized: true })
      c.setCsrfToken(info?.csrfToken)
      return info
    },
    // Resolves once the session is over (a 401: it already was); a refusal
    // or a network failure rejects and the session stays.
    async logout() {
      try {
        const answer = await c.post('/api/v1/logout', undefined, { expectUnauthorized: true })
        c.setCsrfToken('')
        return answer
      } catch (err) {
        if (err.status !== 401) throw err
        c.setCsrfToken('')
        return null
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
    listUsers: (options) => c.get('/api/v1/users', options),
    createUser: (user) => c.post('/api/v1/users', user),
    updateUser: (name, changes) => c.put(`/api/v1/users/${e(name)}`, changes),
    deleteUser: (name) => c.del(`/api/v1/users/${e(name)}`),
    listTokens: (user, options) => c.get('/api/v1/tokens', { query: { user }, ...options }),
    createToken: (name) => c.post('/api/v1/tokens', { name }),
    revokeToken: (id) => c.del(`/api/v1/tokens/${e(id)}`),
    listAudit: (query, options) => c.get('/api/v1/audit', { query, ...options }),

    // catalog.json
    listJobs: (query, options) => c.get('/api/v1/jobs', { query, ...options }),
    getJob: (id, options) => c.get(`/api/v1/jobs/${e(id)}`, options),
    createJob: (job) => c.post('/api/v1/jobs', job),
    updateJob: (id, job) => c.put(`/api/v1/jobs/${e(id)}`, job),
    deleteJob: (id) => c.del(`/api/v1/jobs/${e(id)}`),
    pauseJob: (id) => c.post(`/api/v1/jobs/${e(id)}/pause`),
    resumeJob: (id) => c.post(`/api/v1/jobs/${e(id)}/resume`),
    // params: a string that replaces the job's params for this run, or undefined.
    runJob: (id, params) =>
      c.post(`/api/v1/jobs/${e(id)}/run`, params === undefined ? {} : { params }),
    nextFires: (id, count = 5, options) => c.get(`/api/v1/jobs/${e(id)}/next`, { query: { count }, ...options }),
    listGroups: (options) => c.get('/api/v1/groups', options),
    createGroup: (group) => c.post('/api/v1/groups', group),
    updateGroup: (name, group) => c.put(`/api/v1/groups/${e(name)}`, group),
    deleteGroup: (name) => c.del(`/api/v1/groups/${e(name)}`),

    // cluster.json
    listNodes: (options) => c.get('/api/v1/nodes', options),
    listWorkers: (group, options) => c.get('/api/v1/workers', { query: { group }, ...options }),
    // The soonest first; `limit` of them (0: all), those firing `before` a time.
    listPlans: (group, { before, limit } = {}, options) =>
      c.get('/api/v1/plans', { query: { group, before, limit }, ...options }),
    listAssignments: (query, options) => c.get('/api/v1/assignments', { query, ...options }),
    deleteAssignment: ({ group, worker, id }) =>
      c.del(`/api/v1/assignments/${e(group)}/${e(worker)}/${e(id)}`),
    cronPreview: (query, options) => c.get('/api/v1/cron/preview', { query, ...options }),

    // history.json
    listExecutions: (query, options) => c.get('/api/v1/executions', { query, ...options }),
    getExecution: (id, options) => c.get(`/api/v1/executions/${e(id)}`, options),
    killExecution: (id, reason) =>
      c.post(`/api/v1/executions/${e(id)}/kill`, reason ? { reason } : {}),
    stats: (query, options) => c.get('/api/v1/stats', { query, ...options }),
    overview: (options) => c.get('/api/v1/stats/overview', options),

    // alarm.json (a server without alarms answers these 404)
    listAlarmChannels: (options) => c.get('/api/v1/alarm-channels', options),
    getAlarmChannel: (id, options) => c.get(`/api/v1/alarm-channels/${e(id)}`, options),
    createAlarmChannel: (channel) => c.post('/api/v1/alarm-channels', channel),
    updateAlarmChannel: (id, changes) => c.put(`/api/v1/alarm-channels/${e(id)}`, changes),
    deleteAlarmChannel: (id) => c.del(`/api/v1/alarm-channels/${e(id)}`),
    // { sent, alarmId, error }: a channel that refuses is still a 200.
    testAlarmChannel: (id) => c.post(`/api/v1/alarm-channels/${e(id)}/test`),
    // { global: rule or null, groups: { name: rule } }
    listAlarmRules: (options) => c.get('/api/v1/alarm-rules', options),
    // scope: 'global', or { group: name } for a group's default.
    putAlarmRule: (scope, rule) => c.put(alarmRulePath(scope), rule),
    deleteAlarmRule: (scope) => c.del(alarmRulePath(scope)),
    listAlarms: (query, options) => c.get('/api/v1/alarms', { query, ...options }),
    getAlarm: (id, options) => c.get(`/api/v1/alarms/${e(id)}`, options),
  }
}

export const api = createApi()
export default api
