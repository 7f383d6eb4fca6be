// The router's pure parts (src/router/helpers.js).
import { describe, expect, it, vi } from 'vitest'
import { RELOAD_KEY, documentTitle, isChunkLoadError, reloadForChunkError, safeRedirect } from '../src/router/helpers.js'

function memoryStorage() {
  const data = new Map()
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    data,
  }
}

describe('safeRedirect', () => {
  it('keeps paths of this app', () => {
    expect(safeRedirect('/jobs?q=a')).toBe('/jobs?q=a')
    expect(safeRedirect('/executions?exec=1#x')).toBe('/executions?exec=1#x')
  })

  it('refuses other sites, the login page, backslashes and control characters', () => {
    const home = { name: 'dashboard' }
    for (const bad of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      '/\\/evil.example',
      '/jobs\\..\\x',
      '/jobs\nSet-Cookie: a=b',
      '/jobs\t',
      '/\u0000x',
      '/x\u007f',
      '/login?redirect=/jobs',
      'jobs',
      '',
      undefined,
      ['/jobs'],
    ]) {
      expect(safeRedirect(bad), JSON.stringify(bad)).toEqual(home)
    }
  })
})

describe('reloading after a chunk failed to load', () => {
  const chromium = new TypeError('Failed to fetch dynamically imported module: http://x/assets/JobsView-old.js')
  const safari = new TypeError('Importing a module script failed.')
  const firefox = new TypeError('error loading dynamically imported module: http://x/a.js')

  it('knows the browsers’ messages', () => {
    expect(isChunkLoadError(chromium)).toBe(true)
    expect(isChunkLoadError(safari)).toBe(true)
    expect(isChunkLoadError(firefox)).toBe(true)
    expect(isChunkLoadError(new Error('Unable to preload CSS for /assets/x.css'))).toBe(true)
    expect(isChunkLoadError(new Error('guard failed'))).toBe(false)
    expect(isChunkLoadError(null)).toBe(false)
  })

  it('reloads the page the user was going to, once', () => {
    const storage = memoryStorage()
    const assign = vi.fn()
    const to = { fullPath: '/plans?x=1' }
    expect(reloadForChunkError(chromium, to, { storage, assign, now: 1000 })).toBe(true)
    expect(assign).toHaveBeenCalledWith('/plans?x=1')
    expect(JSON.parse(storage.getItem(RELOAD_KEY))).toEqual({ path: '/plans?x=1', at: 1000 })
    // The reloaded page fails again for the same path: no loop.
    expect(reloadForChunkError(chromium, to, { storage, assign, now: 5000 })).toBe(false)
    expect(assign).toHaveBeenCalledTimes(1)
    // Another page, or the same much later (another upgrade): reload.
    expect(reloadForChunkError(safari, { fullPath: '/jobs' }, { storage, assign, now: 6000 })).toBe(true)
    expect(reloadForChunkError(safari, { fullPath: '/jobs' }, { storage, assign, now: 60000 })).toBe(true)
    expect(assign).toHaveBeenCalledTimes(3)
  })

  it('does nothing for other errors, or without storage to note the attempt', () => {
    const assign = vi.fn()
    expect(reloadForChunkError(new Error('x'), { fullPath: '/' }, { storage: memoryStorage(), assign })).toBe(false)
    expect(reloadForChunkError(chromium, { fullPath: '/' }, { storage: null, assign })).toBe(false)
    const full = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError') } }
    expect(reloadForChunkError(chromium, { fullPath: '/' }, { storage: full, assign })).toBe(false)
    expect(assign).not.toHaveBeenCalled()
  })
})

describe('documentTitle', () => {
  const t = (key) => ({ 'app.name': 'Forest', 'nav.jobs': 'Jobs' })[key] || key
  it('names the page and the app', () => {
    expect(documentTitle({ meta: { title: 'nav.jobs' } }, t)).toBe('Jobs · Forest')
    expect(documentTitle({ meta: {} }, t)).toBe('Forest')
    expect(documentTitle(null, t)).toBe('Forest')
  })
})
