// The plans page's slice and search (src/utils/plans.js).
import { describe, expect, it } from 'vitest'
import { PLANS_LIMIT, PLANS_MAX, filterPlans, nextPlansLimit } from '../src/utils/plans.js'

describe('plans', () => {
  it('offers more until all are loaded', () => {
    expect(PLANS_LIMIT).toBe(200)
    expect(nextPlansLimit(200, 200, 10000)).toEqual({ limit: 400, count: 200 })
    expect(nextPlansLimit(400, 400, 500)).toEqual({ limit: 500, count: 100 })
    expect(nextPlansLimit(200, 150, 150)).toBeNull()
    expect(nextPlansLimit(200, 0, 0)).toBeNull()
    expect(nextPlansLimit(80000, 80000, 200000).limit).toBe(PLANS_MAX)
    expect(nextPlansLimit(PLANS_MAX, PLANS_MAX, 200000)).toBeNull()
  })

  it('searches name, id and cron in what was loaded', () => {
    const plans = [
      { id: '1', name: 'Nightly report', cron: '0 0 2 * * ?' },
      { id: '22', name: 'sync', cron: '*/5 * * * * ?' },
    ]
    expect(filterPlans(plans, '')).toBe(plans)
    expect(filterPlans(plans, ' NIGHTLY ').map((p) => p.id)).toEqual(['1'])
    expect(filterPlans(plans, '22').map((p) => p.id)).toEqual(['22'])
    expect(filterPlans(plans, '*/5').map((p) => p.id)).toEqual(['22'])
    expect(filterPlans(undefined, 'x')).toEqual([])
  })
})
