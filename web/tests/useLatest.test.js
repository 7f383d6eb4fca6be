// "The latest request wins" (src/composables/useLatest.js).
import { describe, expect, it } from 'vitest'
import { createLatest, isAbortError } from '../src/composables/useLatest.js'

// A request that answers when told to, and rejects with AbortError when
// its signal is aborted (as fetch does).
function deferred(signal) {
  let resolve
  let reject
  const promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))
  return { promise, resolve, reject }
}

describe('useLatest', () => {
  it('drops an answer that lands after a newer call started', async () => {
    const latest = createLatest()
    const calls = []
    const request = (signal) => {
      const d = deferred(signal)
      calls.push({ d, signal })
      return d.promise
    }
    const first = latest.run(request)
    const second = latest.run(request)
    expect(calls[0].signal.aborted).toBe(true) // the older one is given up
    expect(calls[1].signal.aborted).toBe(false)
    calls[1].d.resolve('new')
    expect(await second).toEqual({ stale: false, value: 'new', error: null })
    expect(await first).toMatchObject({ stale: true })
  })

  it('drops a late answer even when the request ignored the abort', async () => {
    const latest = createLatest()
    let answerOld
    const old = latest.run(() => new Promise((r) => (answerOld = r)))
    const fresh = await latest.run(async () => 'fresh')
    answerOld('old') // lands last
    expect(fresh.value).toBe('fresh')
    expect(await old).toMatchObject({ stale: true, value: undefined })
  })

  it('hands back the error of the latest call and never throws', async () => {
    const latest = createLatest()
    const boom = new Error('boom')
    const r = await latest.run(async () => {
      throw boom
    })
    expect(r).toEqual({ stale: false, value: undefined, error: boom })
  })

  it('treats an abort as stale, not as an error', async () => {
    const latest = createLatest()
    const pending = latest.run((signal) => deferred(signal).promise)
    latest.abort()
    expect(await pending).toMatchObject({ stale: true, error: null })
  })

  it('begin() gives a signal and tells whether the call is still the latest', () => {
    const latest = createLatest()
    const a = latest.begin()
    expect(a.isLatest()).toBe(true)
    const b = latest.begin()
    expect(a.isLatest()).toBe(false)
    expect(a.signal.aborted).toBe(true)
    expect(b.isLatest()).toBe(true)
    latest.abort()
    expect(b.isLatest()).toBe(false)
  })

  it('knows an abort error', () => {
    expect(isAbortError({ name: 'AbortError' })).toBe(true)
    expect(isAbortError(new Error('x'))).toBe(false)
    expect(isAbortError(null)).toBe(false)
  })
})
