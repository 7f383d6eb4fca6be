// The shared group list (src/composables/groups-store.js).
import { describe, expect, it, vi } from 'vitest'
import { MAX_AGE_MS, createGroupsStore } from '../src/composables/groups-store.js'

describe('groups store', () => {
  it('fetches once for every page that asks, then again when old', async () => {
    let clock = 1000
    const list = vi.fn(async () => ({ items: [{ name: 'a', remark: 'x' }, { name: 'b' }] }))
    const store = createGroupsStore({ list, now: () => clock, onError: vi.fn() })
    await Promise.all([store.ensure(), store.ensure(), store.ensure()])
    expect(list).toHaveBeenCalledTimes(1)
    expect(store.names.value).toEqual(['a', 'b'])
    expect(store.items.value[0].remark).toBe('x')
    await store.ensure()
    expect(list).toHaveBeenCalledTimes(1)
    clock += MAX_AGE_MS + 1
    await store.ensure()
    expect(list).toHaveBeenCalledTimes(2)
  })

  it('refreshes on request (a group created or deleted)', async () => {
    const answers = [{ items: [{ name: 'a' }] }, { items: [{ name: 'a' }, { name: 'new' }] }]
    const store = createGroupsStore({ list: async () => answers.shift(), onError: vi.fn() })
    await store.ensure()
    await store.refresh()
    expect(store.names.value).toEqual(['a', 'new'])
  })

  it('keeps the list it had when a fetch fails, and says so unless quiet', async () => {
    const onError = vi.fn()
    const answers = [async () => ({ items: [{ name: 'a' }] }), async () => { throw new Error('down') }, async () => { throw new Error('down') }]
    const store = createGroupsStore({ list: () => answers.shift()(), onError })
    await store.refresh()
    await store.refresh()
    expect(store.names.value).toEqual(['a'])
    expect(onError).toHaveBeenCalledTimes(1)
    await store.refresh({ quiet: true })
    expect(onError).toHaveBeenCalledTimes(1)
  })
})

describe('groups store, changes under way', () => {
  it('a refresh after a change is not answered by a fetch that predates it', async () => {
    let answerOld
    const answers = [
      () => new Promise((r) => (answerOld = r)),
      async () => ({ items: [{ name: 'a' }, { name: 'created' }] }),
    ]
    const store = createGroupsStore({ list: () => answers.shift()() })
    const first = store.ensure()
    const second = store.refresh()
    expect(store.ensure()).toBe(second) // later pages wait for the newest
    await second
    answerOld({ items: [{ name: 'a' }] }) // the old answer lands last
    await first
    expect(store.names.value).toEqual(['a', 'created'])
  })
})
