// The cron helper's checks (src/composables/useCronPreview.js) against a
// fake API: debounced, the latest answer wins, only a verdict on the
// expression blocks, settle() waits for what is typed now.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick, ref } from 'vue'
import { ApiError } from '../src/api/index.js'
import { classifyPreviewError, useCronPreview } from '../src/composables/useCronPreview.js'

// cronPreview answers what `answers[expr]` says, when told to.
function fakeApi() {
  const calls = []
  return {
    calls,
    cronPreview: vi.fn((query, { signal } = {}) => {
      let resolve
      let reject
      const promise = new Promise((res, rej) => {
        resolve = res
        reject = rej
      })
      signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))
      calls.push({ query, resolve, reject, signal })
      return promise
    }),
  }
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve()
  await nextTick()
}

describe('useCronPreview', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('checks after a pause in typing and keeps the latest answer only', async () => {
    const api = fakeApi()
    const source = ref({ expr: '' })
    const p = useCronPreview(source, { api, delay: 300 })
    source.value = { expr: '0 0 2 * * ?' }
    await nextTick()
    expect(p.loading.value).toBe(true)
    vi.advanceTimersByTime(300)
    expect(api.calls).toHaveLength(1)
    source.value = { expr: '0 0 3 * * ?' }
    await nextTick()
    vi.advanceTimersByTime(300)
    expect(api.calls).toHaveLength(2)
    expect(api.calls[0].signal.aborted).toBe(true)
    api.calls[1].resolve({ normalized: 'three' })
    await flush()
    expect(p.preview.value).toEqual({ normalized: 'three' })
    expect(p.loading.value).toBe(false)
    p.stop()
  })

  it('blocks on a 400 about the expression only', async () => {
    expect(classifyPreviewError(new ApiError({ status: 400, field: 'expr', message: 'expr: field 3 (hour): 25 is out of range' }))).toEqual({
      error: 'field 3 (hour): 25 is out of range',
      warning: '',
    })
    const zone = classifyPreviewError(new ApiError({ status: 400, field: 'zone', message: 'unknown time zone "Mars/Base"' }))
    expect(zone.error).toBe('')
    expect(zone.warning).toMatch(/Mars/)
    expect(classifyPreviewError(new ApiError({ status: 503, message: 'no leader' })).error).toBe('')
    expect(classifyPreviewError(new ApiError({ status: 0, code: 'network', message: 'Failed to fetch' }))).toEqual({
      error: '',
      warning: 'Failed to fetch',
    })
  })

  it('shows a failed check as a warning, not an error', async () => {
    const api = fakeApi()
    const source = ref({ expr: '* * * * * ?' })
    const p = useCronPreview(source, { api, delay: 10 })
    vi.advanceTimersByTime(10)
    api.calls[0].reject(new ApiError({ status: 503, code: 'unavailable', message: 'no leader' }))
    await flush()
    expect(p.error.value).toBe('')
    expect(p.warning.value).toBe('no leader')
    p.stop()
  })

  it('settle() checks what is typed now, at once, and answers its verdict', async () => {
    const api = fakeApi()
    const source = ref({ expr: '0 0 25 * * ?' })
    const p = useCronPreview(source, { api, delay: 300 })
    vi.advanceTimersByTime(300)
    api.calls[0].reject(new ApiError({ status: 400, field: 'expr', message: 'expr: hour out of range' }))
    await flush()
    expect(p.error.value).toBe('hour out of range')

    // Fixed, and saved before the debounce ran: the old error must not decide.
    source.value = { expr: '0 0 2 * * ?' }
    await nextTick()
    expect(p.error.value).toBe('hour out of range') // still shown while pending
    const settled = p.settle()
    expect(api.calls).toHaveLength(2) // checked now, not after 300 ms
    api.calls[1].resolve({ normalized: 'two', canFire: true })
    const verdict = await settled
    expect(verdict.error).toBe('')
    expect(p.error.value).toBe('')
    p.stop()
  })

  it('settle() waits for a newer check that replaced the one under way', async () => {
    const api = fakeApi()
    const source = ref({ expr: 'a' })
    const p = useCronPreview(source, { api, delay: 0 })
    vi.advanceTimersByTime(0)
    const settled = p.settle()
    source.value = { expr: 'b' }
    await nextTick()
    vi.advanceTimersByTime(0)
    expect(api.calls).toHaveLength(2)
    let done = false
    settled.then(() => (done = true))
    await flush()
    expect(done).toBe(false)
    api.calls[1].resolve({ normalized: 'b' })
    await flush()
    expect(done).toBe(true)
    expect(p.preview.value).toEqual({ normalized: 'b' })
    p.stop()
  })

  it('clears everything when the expression is emptied', async () => {
    const api = fakeApi()
    const source = ref({ expr: 'x' })
    const p = useCronPreview(source, { api, delay: 0 })
    vi.advanceTimersByTime(0)
    source.value = { expr: '  ' }
    await nextTick()
    expect(api.calls[0].signal.aborted).toBe(true)
    expect(p.loading.value).toBe(false)
    expect(await p.settle()).toEqual({ error: '', warning: '', preview: null })
  })
})
