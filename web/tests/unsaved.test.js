// Unsaved work (src/composables/unsaved.js): what keeps a 401 from leaving the page.
import { describe, expect, it } from 'vitest'
import { hasUnsavedWork, useUnsavedWork } from '../src/composables/unsaved.js'

describe('unsaved work', () => {
  it('is there while a registered predicate says so', () => {
    let dirty = false
    const remove = useUnsavedWork(() => dirty)
    expect(hasUnsavedWork()).toBe(false)
    dirty = true
    expect(hasUnsavedWork()).toBe(true)
    remove()
    expect(hasUnsavedWork()).toBe(false)
  })

  it('ignores a predicate that throws', () => {
    const remove = useUnsavedWork(() => {
      throw new Error('gone')
    })
    expect(hasUnsavedWork()).toBe(false)
    remove()
  })
})
