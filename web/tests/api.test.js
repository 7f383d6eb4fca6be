// The API client against a fake fetch.
import { describe, expect, it, vi } from 'vitest'
import { ApiError, createApi, isCsrfError, messageWithField, toQuery } from '../src/api/index.js'

function jsonResponse(status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body)
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: `status ${status}`,
    headers: new Headers({ 'content-type': 'application/json', ...headers }),
    text: async () => text,
  }
}

function fakeFetch(...answers) {
  const calls = []
  const fn = vi.fn(async (url, init) => {
    calls.push({ url, init })
    const next = answers.length > 1 ? answers.shift() : answers[0]
    return typeof next === 'function' ? next(url, init) : next
  })
  fn.calls = calls
  return fn
}

describe('api client', () => {
  it('logs in, keeps the CSRF token and sends it on writes only', async () => {
    const fetch = fakeFetch(
      jsonResponse(200, { user: 'admin', role: 'admin', csrfToken: 'tok-1' }),
      jsonResponse(200, { items: [] }),
      jsonResponse(201, { name: 'g1' }),
      { ok: true, status: 204, headers: new Headers(), text: async () => '' },
    )
    const api = createApi({ fetch })
    await api.login('admin', 'pw')
    await api.listGroups()
    await api.createGroup({ name: 'g1' })
    expect(await api.deleteJob('a/b')).toBeNull()

    const [login, list, create, del] = fetch.calls
    expect(login.url).toBe('/api/v1/login')
    expect(login.init.method).toBe('POST')
    expect(login.init.credentials).toBe('same-origin')
    expect(JSON.parse(login.init.body)).toEqual({ user: 'admin', password: 'pw' })
    expect(list.init.method).toBe('GET')
    expect(list.init.headers['X-CSRF-Token']).toBeUndefined()
    expect(create.init.headers['X-CSRF-Token']).toBe('tok-1')
    expect(create.init.headers['Content-Type']).toBe('application/json')
    expect(del.url).toBe('/api/v1/jobs/a%2Fb')
    expect(del.init.method).toBe('DELETE')
    expect(del.init.headers['X-CSRF-Token']).toBe('tok-1')
  })

  it('takes the CSRF token from the session after a reload', async () => {
    const fetch = fakeFetch(
      jsonResponse(200, { user: 'bob', role: 'operator', csrfToken: 'tok-2', auth: true }),
      jsonResponse(200, { id: 'j1', status: 2 }),
    )
    const api = createApi({ fetch })
    expect(await api.session()).toMatchObject({ user: 'bob', role: 'operator' })
    await api.pauseJob('j1')
    expect(fetch.calls[1].url).toBe('/api/v1/jobs/j1/pause')
    expect(fetch.calls[1].init.headers['X-CSRF-Token']).toBe('tok-2')
  })

  it('turns an error body into a message with its field', async () => {
    const fetch = fakeFetch(
      jsonResponse(400, { error: { code: 'invalid_argument', message: 'cron: field 3 (hour): 25 is out of range 0-23', field: 'cron' } }),
      jsonResponse(400, { error: { code: 'invalid_argument', message: 'must be between 1 and 100', field: 'retry.maxAttempts' } }),
      jsonResponse(409, { error: { code: 'failed_precondition', message: 'group "trade" is used by 3 jobs' } }),
    )
    const api = createApi({ fetch })
    const first = await api.createJob({}).catch((e) => e)
    expect(first).toBeInstanceOf(ApiError)
    expect(first).toMatchObject({ status: 400, code: 'invalid_argument', field: 'cron' })
    expect(first.message).toBe('cron: field 3 (hour): 25 is out of range 0-23')
    const second = await api.createJob({}).catch((e) => e)
    expect(second.message).toBe('retry.maxAttempts: must be between 1 and 100')
    const third = await api.deleteGroup('trade').catch((e) => e)
    expect(third).toMatchObject({ status: 409, field: '', message: 'group "trade" is used by 3 jobs' })
  })

  it('makes a message from a body that is not the error document', async () => {
    const fetch = fakeFetch({ ok: false, status: 502, statusText: 'Bad Gateway', headers: new Headers({ 'content-type': 'text/html' }), text: async () => '' })
    const error = await createApi({ fetch }).listJobs().catch((e) => e)
    expect(error).toMatchObject({ status: 502, message: 'Bad Gateway' })
  })

  it('reports a network failure as an ApiError with status 0', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch')
    })
    const error = await createApi({ fetch }).listJobs().catch((e) => e)
    expect(error).toMatchObject({ status: 0, code: 'network', message: 'Failed to fetch' })
  })

  it('calls the 401 handler for a request, not for the login or the session', async () => {
    const unauthorized = jsonResponse(401, { error: { code: 'unauthenticated', message: 'log in' } })
    const fetch = fakeFetch(unauthorized)
    const onUnauthorized = vi.fn()
    const api = createApi({ fetch, onUnauthorized })

    const error = await api.listJobs().catch((e) => e)
    expect(error).toMatchObject({ status: 401, message: 'log in' })
    expect(onUnauthorized).toHaveBeenCalledTimes(1)

    await expect(api.login('x', 'bad')).rejects.toMatchObject({ status: 401 })
    expect(await api.session()).toBeNull()
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
  })

  it('forgets the CSRF token on logout', async () => {
    const fetch = fakeFetch(
      jsonResponse(200, { user: 'a', role: 'admin', csrfToken: 't' }),
      jsonResponse(200, { loggedOut: true }),
      jsonResponse(201, {}),
    )
    const api = createApi({ fetch })
    await api.login('a', 'b')
    await api.logout()
    expect(fetch.calls[1].init.headers['X-CSRF-Token']).toBe('t')
    await api.createGroup({ name: 'x' })
    expect(fetch.calls[2].init.headers['X-CSRF-Token']).toBeUndefined()
  })

  const csrfRefused = () =>
    jsonResponse(403, { error: { code: 'permission_denied', message: 'missing or invalid CSRF token' } })

  it('asks for the session again and retries a write refused for its CSRF token', async () => {
    const fetch = fakeFetch(
      jsonResponse(200, { user: 'admin', role: 'admin', csrfToken: 'old' }),
      csrfRefused(),
      jsonResponse(200, { user: 'bob', role: 'operator', csrfToken: 'new' }),
      jsonResponse(200, { id: 'j1', status: 2 }),
    )
    const onSession = vi.fn()
    const api = createApi({ fetch, onSession })
    await api.login('admin', 'pw')
    expect(await api.pauseJob('j1')).toEqual({ id: 'j1', status: 2 })
    const [, refused, session, retried] = fetch.calls
    expect(refused.init.headers['X-CSRF-Token']).toBe('old')
    expect(session.url).toBe('/api/v1/session')
    expect(session.init.method).toBe('GET')
    expect(retried.url).toBe('/api/v1/jobs/j1/pause')
    expect(retried.init.headers['X-CSRF-Token']).toBe('new')
    expect(api.client.getCsrfToken()).toBe('new')
    // Whoever logged in in the other tab is the session now.
    expect(onSession).toHaveBeenCalledWith(expect.objectContaining({ user: 'bob', role: 'operator' }))
  })

  it('retries once only, and sends the same body again', async () => {
    const fetch = fakeFetch(
      csrfRefused(),
      jsonResponse(200, { user: 'a', role: 'admin', csrfToken: 't2' }),
      csrfRefused(),
    )
    const api = createApi({ fetch })
    const error = await api.createGroup({ name: 'g' }).catch((e) => e)
    expect(error).toMatchObject({ status: 403, code: 'permission_denied' })
    expect(fetch).toHaveBeenCalledTimes(3)
    expect(fetch.calls[2].init.body).toBe(fetch.calls[0].init.body)
  })

  it('does not retry other refusals, nor reads', async () => {
    const fetch = fakeFetch(
      jsonResponse(403, { error: { code: 'permission_denied', message: 'operator role required' } }),
      jsonResponse(403, { error: { code: 'permission_denied', message: 'CSRF token mismatch' } }),
    )
    const api = createApi({ fetch })
    await expect(api.deleteJob('j1')).rejects.toMatchObject({ status: 403, message: 'operator role required' })
    await expect(api.listJobs()).rejects.toMatchObject({ status: 403 })
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('asks for the session once for writes refused together', async () => {
    let sessions = 0
    const fetch = fakeFetch((url, init) => {
      if (url === '/api/v1/session') {
        sessions++
        return jsonResponse(200, { user: 'a', role: 'admin', csrfToken: 'fresh' })
      }
      return init.headers['X-CSRF-Token'] === 'fresh' ? jsonResponse(200, { ok: true }) : csrfRefused()
    })
    const api = createApi({ fetch })
    api.setCsrfToken('stale')
    const answers = await Promise.all([api.pauseJob('a'), api.pauseJob('b'), api.resumeJob('c')])
    expect(answers).toEqual([{ ok: true }, { ok: true }, { ok: true }])
    expect(sessions).toBe(1)
  })

  it('takes a write refused for its token with no session left as a 401', async () => {
    const fetch = fakeFetch(
      csrfRefused(),
      jsonResponse(401, { error: { code: 'unauthenticated', message: 'log in' } }),
    )
    const onUnauthorized = vi.fn()
    const api = createApi({ fetch, onUnauthorized })
    api.setCsrfToken('stale')
    await expect(api.pauseJob('j1')).rejects.toMatchObject({ status: 401 })
    expect(onUnauthorized).toHaveBeenCalledTimes(1)
    expect(api.client.getCsrfToken()).toBe('')
  })

  it('logs out with a refreshed token; a refused logout rejects and keeps the session', async () => {
    const fetch = fakeFetch(
      csrfRefused(),
      jsonResponse(200, { user: 'a', role: 'admin', csrfToken: 'new' }),
      jsonResponse(200, { loggedOut: true }),
    )
    const api = createApi({ fetch })
    api.setCsrfToken('old')
    await api.logout()
    expect(fetch.calls[2].init.headers['X-CSRF-Token']).toBe('new')
    expect(api.client.getCsrfToken()).toBe('')

    const refusing = fakeFetch(jsonResponse(500, { error: { code: 'internal', message: 'store unavailable' } }))
    const api2 = createApi({ fetch: refusing })
    api2.setCsrfToken('t')
    await expect(api2.logout()).rejects.toMatchObject({ status: 500 })
    expect(api2.client.getCsrfToken()).toBe('t')

    // Already logged out (401): that is a logout.
    const gone = fakeFetch(jsonResponse(401, { error: { code: 'unauthenticated', message: 'log in' } }))
    const api3 = createApi({ fetch: gone })
    await expect(api3.logout()).resolves.toBeNull()
  })

  it('turns a failure while reading the body into an ApiError', async () => {
    const fetch = fakeFetch({
      ok: true,
      status: 200,
      headers: new Headers({ 'content-type': 'application/json' }),
      text: async () => {
        throw new TypeError('network error while reading')
      },
    })
    const error = await createApi({ fetch }).listJobs().catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 200, code: 'read_failed', message: 'network error while reading' })
  })

  it('words its own errors through the translator', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch')
    })
    const translate = vi.fn((key, values) => `${key}|${values.detail ?? ''}`)
    const api = createApi({ fetch, translate })
    const error = await api.listJobs().catch((e) => e)
    expect(error).toMatchObject({ status: 0, code: 'network', message: 'errors.networkDetail|Failed to fetch' })
    const silent = vi.fn(async () => {
      throw {}
    })
    api.client.setTranslator(translate)
    const bare = await createApi({ fetch: silent, translate }).listJobs().catch((e) => e)
    expect(bare.message).toBe('errors.network|')
    // An abort stays an abort.
    const aborting = vi.fn(async () => {
      throw Object.assign(new Error('aborted'), { name: 'AbortError' })
    })
    await expect(createApi({ fetch: aborting }).listJobs()).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('passes a signal to list and get requests', async () => {
    const fetch = fakeFetch(jsonResponse(200, { items: [] }))
    const api = createApi({ fetch })
    const controller = new AbortController()
    await api.listPlans('g', { limit: 200 }, { signal: controller.signal })
    expect(fetch.calls[0].url).toBe('/api/v1/plans?group=g&limit=200')
    expect(fetch.calls[0].init.signal).toBe(controller.signal)
    await api.getJob('j1', { signal: controller.signal })
    expect(fetch.calls[1].init.signal).toBe(controller.signal)
  })

  it('builds query strings without empty values', async () => {
    const fetch = fakeFetch(jsonResponse(200, { items: [], total: 0 }))
    const api = createApi({ fetch })
    await api.listJobs({ q: 'a b', group: '', status: undefined, page: 2, pageSize: 50, sort: '-name' })
    expect(fetch.calls[0].url).toBe('/api/v1/jobs?q=a+b&page=2&pageSize=50&sort=-name')
    await api.runJob('j1', '{"day":2}')
    expect(JSON.parse(fetch.calls[1].init.body)).toEqual({ params: '{"day":2}' })
    await api.runJob('j1')
    expect(JSON.parse(fetch.calls[2].init.body)).toEqual({})
    expect(toQuery({})).toBe('')
  })

  it('calls the alarm endpoints (alarm.json)', async () => {
    const fetch = fakeFetch(jsonResponse(200, { sent: true, alarmId: 'x' }))
    const api = createApi({ fetch })
    await api.putAlarmRule('global', { onFailure: true })
    await api.putAlarmRule({ group: 'a/b' }, { channels: [] })
    await api.deleteAlarmRule({ group: 'g 1' })
    await api.testAlarmChannel('ch/1')
    await api.updateAlarmChannel('ch-1', { name: 'n', version: 2 })
    await api.listAlarms({ jobId: 'j1', kind: '', state: 'failed', page: 1, pageSize: 20 })
    const seen = fetch.calls.map((c) => `${c.init.method} ${c.url}`)
    expect(seen).toEqual([
      'PUT /api/v1/alarm-rules/global',
      'PUT /api/v1/alarm-rules/groups/a%2Fb',
      'DELETE /api/v1/alarm-rules/groups/g%201',
      'POST /api/v1/alarm-channels/ch%2F1/test',
      'PUT /api/v1/alarm-channels/ch-1',
      'GET /api/v1/alarms?jobId=j1&state=failed&page=1&pageSize=20',
    ])
    expect(JSON.parse(fetch.calls[1].init.body)).toEqual({ channels: [] })
  })

  it('knows a refusal for the CSRF token', () => {
    expect(isCsrfError(new ApiError({ status: 403, code: 'permission_denied', message: 'missing or invalid CSRF token' }))).toBe(true)
    expect(isCsrfError(new ApiError({ status: 403, code: 'permission_denied', message: 'bad csrf' }))).toBe(true)
    expect(isCsrfError(new ApiError({ status: 403, code: 'permission_denied', message: 'admin role required' }))).toBe(false)
    expect(isCsrfError(new ApiError({ status: 400, message: 'CSRF' }))).toBe(false)
  })

  it('adds the field to a message only when it is not there', () => {
    expect(messageWithField('name: must not be empty', 'name')).toBe('name: must not be empty')
    expect(messageWithField('must not be empty', 'name')).toBe('name: must not be empty')
    expect(messageWithField('plain', '')).toBe('plain')
  })
})
