// Filters in the URL query (src/utils/query.js).
import { describe, expect, it } from 'vitest'
import { mergeQuery } from '../src/utils/query.js'

describe('mergeQuery', () => {
  it('applies changes, leaves out empty values and goes back to page 1', () => {
    expect(mergeQuery({ q: 'a', page: '3', group: 'g' }, { group: '' })).toEqual({ q: 'a' })
    expect(mergeQuery({ q: 'a', page: '3' }, { status: 'enabled' })).toEqual({ q: 'a', status: 'enabled' })
  })

  it('keeps the page when asked, or when the page is the change', () => {
    expect(mergeQuery({ q: 'a', page: '3' }, { exec: 'e1' }, { resetPage: false })).toEqual({ q: 'a', page: '3', exec: 'e1' })
    expect(mergeQuery({ q: 'a', page: '3' }, { page: 4 })).toEqual({ q: 'a', page: 4 })
    expect(mergeQuery({ exec: 'e1', page: '2' }, { exec: null }, { resetPage: false })).toEqual({ page: '2' })
  })

  it('leaves out values equal to a default', () => {
    expect(mergeQuery({ sort: '-updated' }, { sort: 'name' }, { defaults: { sort: 'name' } })).toEqual({})
    expect(mergeQuery({}, { sort: 'group' }, { defaults: { sort: 'name' } })).toEqual({ sort: 'group' })
  })
})

