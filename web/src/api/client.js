// The transport under the API: fetch with the browser session's cookie
// (same-origin credentials), the CSRF token on every state-changing request,
// JSON in and out, and the server's error body turned into an ApiError.
//
// Errors are {"error": {"code", "message", "field"}} with a 4xx/5xx status.
// A 401 calls onUnauthorized (the app sends the user to the login page)
// unless the request says it expects one (the login itself).
//
// A write refused with 403 for its CSRF token (the session changed under
// the page: a log in again in another tab) asks GET /api/v1/session for the
// current token, hands that session to onSession, and is sent again once.
//
// The client's own messages (no answer, an answer that could not be read)
// go through `translate(key, values)` (the app gives it vue-i18n's t);
// the ApiError's code says which: 'network' or 'read_failed'.

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export class ApiError extends Error {
  constructor({ status = 0, code = '', message = '', field = '' } = {}) {
    super(messageWithField(message, field))
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field
    this.rawMessage = message
  }
}

// The server's messages usually start with the field already
// ("cron: field 3 (hour): 25 is out of range 0-23"); others get it prepended.
export function messageWithField(message, field) {
  const text = message || ''
  if (!field) return text
  if (text === field || text.startsWith(`${field}:`) || text.startsWith(`${field} `)) return text
  return text ? `${field}: ${text}` : field
}

// A query string from an object, leaving out empty values; arrays repeat.
export function toQuery(params) {
  if (!params) return ''
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue
    if (Array.isArray(value)) value.forEach((v) => search.append(key, String(v)))
    else search.append(key, String(value))
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

export const CLIENT_MESSAGES = {
  'errors.network': 'network error',
  'errors.networkDetail': 'network error: {detail}',
  'errors.readFailed': 'the answer could not be read',
  'errors.readFailedDetail': 'the answer could not be read: {detail}',
}

// Without a translator: the browser's own text, or the English message.
function defaultTranslate(key, values = {}) {
  if (values.detail) return values.detail
  return CLIENT_MESSAGES[key] || key
}

// The server's answer to a write whose CSRF token it did not take:
// 403 {"error": {"code": "permission_denied", "message": "missing or invalid CSRF token"}}.
export function isCsrfError(error) {
  return Boolean(error) && error.status === 403 && /csrf/i.test(`${error.rawMessage ?? error.message ?? ''} ${error.code || ''}`)
}

export function createClient({
  fetch: fetchImpl,
  base = '',
  onUnauthorized,
  onSession,
  translate,
  sessionPath = '/api/v1/session',
} = {}) {
  const doFetch = fetchImpl || ((...args) => globalThis.fetch(...args))
  let csrfToken = ''
  let unauthorized = onUnauthorized || null
  let sessionHandler = onSession || null
  let tr = translate || defaultTranslate
  let refreshing = null

  const clientMessage = (key, detail) =>
    detail ? tr(`${key}Detail`, { detail }) : tr(key, {})

  async function send(upper, path, { query, body, signal }) {
    const headers = { Accept: 'application/json' }
    const init = { method: upper, headers, credentials: 'same-origin', signal }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    if (!SAFE_METHODS.has(upper) && csrfToken) headers['X-CSRF-Token'] = csrfToken

    let response
    try {
      response = await doFetch(`${base}${path}${toQuery(query)}`, init)
    } catch (e) {
      if (e && e.name === 'AbortError') throw e
      throw new ApiError({ status: 0, code: 'network', message: clientMessage('errors.network', e?.message) })
    }

    let data
    try {
      data = await readBody(response)
    } catch (e) {
      if (e && e.name === 'AbortError') throw e
      throw new ApiError({
        status: response.status || 0,
        code: 'read_failed',
        message: clientMessage('errors.readFailed', e?.message),
      })
    }
    return { response, data }
  }

  // The current session's CSRF token (one request for all the writes that
  // need it at once). Resolves the session, or null when there is none.
  function refreshSession() {
    if (!refreshing) {
      refreshing = (async () => {
        try {
          const info = await request('GET', sessionPath, { expectUnauthorized: true })
          csrfToken = info?.csrfToken || ''
          sessionHandler?.(info)
          return info
        } catch (e) {
          if (e.status !== 401) throw e
          csrfToken = ''
          return null
        }
      })().finally(() => {
        refreshing = null
      })
    }
    return refreshing
  }

  async function request(method, path, options = {}) {
    const { expectUnauthorized = false, csrfRetried = false } = options
    const upper = method.toUpperCase()
    const { response, data } = await send(upper, path, options)
    if (response.ok) return data

    const error = errorFrom(response, data)
    if (!SAFE_METHODS.has(upper) && !csrfRetried && isCsrfError(error)) {
      let info
      try {
        info = await refreshSession()
      } catch {
        throw error // the session could not be asked for: the first refusal stands
      }
      if (info?.csrfToken) return request(method, path, { ...options, csrfRetried: true })
      if (!info) {
        // No session any more: as if the write had been answered 401.
        const gone = new ApiError({ status: 401, code: 'unauthenticated', message: error.rawMessage })
        if (!expectUnauthorized && unauthorized) unauthorized(gone)
        throw gone
      }
      throw error
    }
    if (response.status === 401 && !expectUnauthorized && unauthorized) unauthorized(error)
    throw error
  }

  return {
    request,
    get: (path, options) => request('GET', path, options),
    post: (path, body, options) => request('POST', path, { ...options, body }),
    put: (path, body, options) => request('PUT', path, { ...options, body }),
    del: (path, options) => request('DELETE', path, options),
    refreshSession,
    setCsrfToken(token) {
      csrfToken = token || ''
    },
    getCsrfToken: () => csrfToken,
    setUnauthorizedHandler(handler) {
      unauthorized = handler
    },
    setSessionHandler(handler) {
      sessionHandler = handler
    },
    setTranslator(fn) {
      tr = fn || defaultTranslate
    },
  }
}

async function readBody(response) {
  if (response.status === 204) return null
  const text = await response.text()
  if (!text) return null
  const type = response.headers?.get?.('content-type') || ''
  if (type.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  return text
}

function errorFrom(response, data) {
  const body = data && typeof data === 'object' ? data.error : null
  if (body && typeof body === 'object') {
    return new ApiError({
      status: response.status,
      code: body.code || '',
      message: body.message || response.statusText || `HTTP ${response.status}`,
      field: body.field || '',
    })
  }
  const text = typeof data === 'string' && data.length < 300 ? data.trim() : ''
  return new ApiError({
    status: response.status,
    code: `http_${response.status}`,
    message: text || response.statusText || `HTTP ${response.status}`,
  })
}
