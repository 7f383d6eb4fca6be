// Statistics by day and their chart (src/utils/stats.js).
import { describe, expect, it } from 'vitest'
import { dailyStatsQuery, statsFromDay, successChartOption } from '../src/utils/stats.js'

describe('stats by day', () => {
  it('starts at local midnight of the first of the last N days', () => {
    expect(statsFromDay(14, new Date(2026, 2, 14, 15, 30))).toBe('2026-03-01T00:00:00')
    expect(statsFromDay(1, new Date(2026, 0, 5, 0, 0, 1))).toBe('2026-01-05T00:00:00')
    expect(statsFromDay(14, new Date(2026, 0, 5, 23, 59))).toBe('2025-12-23T00:00:00')
  })

  it('asks by day in the given zone', () => {
    expect(dailyStatsQuery({ jobId: 'j1' }, { days: 7, now: new Date(2026, 2, 14, 12), zone: 'Asia/Shanghai' })).toEqual({
      by: 'day',
      from: '2026-03-08T00:00:00',
      zone: 'Asia/Shanghai',
      jobId: 'j1',
    })
  })

  it('charts successes and failures stacked, and the rate in percent', () => {
    const t = (k) => k
    const option = successChartOption(
      [
        { key: '2026-03-01', success: 8, error: 1, unknown: 1, successRate: 0.8 },
        { key: '2026-03-02', total: 0, successRate: null },
      ],
      t,
    )
    expect(option.xAxis.data).toEqual(['03-01', '03-02'])
    const [ok, failed, rate] = option.series
    expect(ok).toMatchObject({ name: 'execStatus.success', stack: 'runs', data: [8, 0] })
    expect(failed).toMatchObject({ name: 'execStatus.error', stack: 'runs', data: [2, 0] })
    expect(rate).toMatchObject({ name: 'dashboard.successRate', type: 'line', yAxisIndex: 1, data: [80, null] })
    expect(option.legend.data).toEqual(['execStatus.success', 'execStatus.error', 'dashboard.successRate'])
  })
})
