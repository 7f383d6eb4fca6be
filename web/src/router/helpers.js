// The router's pure parts, tested without a browser (tests/router.test.js).

// Only paths of this app: never an absolute URL from the query, nor one a
// browser may read as one ("//host", "/\host"), nor control characters.
export function safeRedirect(target) {
  const path = typeof target === 'string' ? target : ''
  if (
    path.startsWith('/') &&
    !path.startsWith('//') &&
    !path.startsWith('/login') &&
    // eslint-disable-next-line no-control-regex
    !/[\\\u0000-\u001f\u007f]/.test(path)
  ) {
    return path
  }
  return { name: 'dashboard' }
}

// A page's chunk that could not be loaded: the UI was upgraded under an open
// tab and the old hashed files are gone (Chromium, Safari, Firefox, Vite's
// CSS preload).
export function isChunkLoadError(error) {
  const text = String(error?.message || error || '')
  return /Failed to fetch dynamically imported module|Importing a module script failed|error loading dynamically imported module|Unable to preload CSS/i.test(
    text,
  )
}

export const RELOAD_KEY = 'forest.chunkReload'
const RELOAD_WINDOW_MS = 30000

// After a chunk failed: load the page the user was going to afresh (the new
// index.html names the new chunks), once. A second failure for the same
// path within 30 s is not reloaded again (no loop); answers whether it
// reloaded.
export function reloadForChunkError(error, to, { storage, assign, now = Date.now() } = {}) {
  if (!isChunkLoadError(error)) return false
  const path = to?.fullPath || '/'
  let last = null
  try {
    last = JSON.parse(storage?.getItem(RELOAD_KEY) || 'null')
  } catch {
    last = null
  }
  if (last && last.path === path && now - last.at < RELOAD_WINDOW_MS) return false
  try {
    storage.setItem(RELOAD_KEY, JSON.stringify({ path, at: now }))
  } catch {
    return false // nowhere to note the attempt: no reload, it could loop
  }
  assign(path)
  return true
}

// The document's title for a route: "Jobs · Forest".
export function documentTitle(route, t) {
  const app = t('app.name')
  const key = route?.meta?.title
  return key ? `${t(key)} · ${app}` : app
}
