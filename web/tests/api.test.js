// The API client against a fake fetch.
import { describe, expect, it, vi } from 'vitest'
import { ApiError, createApi, messageWithField, toQuery } from '../src/api/index.js'

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

  it('adds the field to a message only when it is not there', () => {
    expect(messageWithField('name: must not be empty', 'name')).toBe('name: must not be empty')
    expect(messageWithField('must not be empty', 'name')).toBe('name: must not be empty')
    expect(messageWithField('plain', '')).toBe('plain')
  })
})
