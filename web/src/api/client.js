// The transport under the API: fetch with the browser session's cookie
// (same-origin credentials), the CSRF token on every state-changing request,
// JSON in and out, and the server's error body turned into an ApiError.
//
// Errors are {"error": {"code", "message", "field"}} with a 4xx/5xx status.
// A 401 calls onUnauthorized (the app sends the user to the login page)
// unless the request says it expects one (the login itself).

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

export function createClient({ fetch: fetchImpl, base = '', onUnauthorized } = {}) {
  const doFetch = fetchImpl || ((...args) => globalThis.fetch(...args))
  let csrfToken = ''
  let unauthorized = onUnauthorized || null

  async function request(method, path, { query, body, signal, expectUnauthorized = false } = {}) {
    const upper = method.toUpperCase()
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
      throw new ApiError({ status: 0, code: 'network', message: e?.message || 'network error' })
    }

    const data = await readBody(response)
    if (response.ok) return data

    const error = errorFrom(response, data)
    if (response.status === 401 && !expectUnauthorized && unauthorized) unauthorized(error)
    throw error
  }

  return {
    request,
    get: (path, options) => request('GET', path, options),
    post: (path, body, options) => request('POST', path, { ...options, body }),
    put: (path, body, options) => request('PUT', path, { ...options, body }),
    del: (path, options) => request('DELETE', path, options),
    setCsrfToken(token) {
      csrfToken = token || ''
    },
    getCsrfToken: () => csrfToken,
    setUnauthorizedHandler(handler) {
      unauthorized = handler
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
