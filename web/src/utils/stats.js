// Statistics by day (GET /api/v1/stats?by=day) as the dashboard and a job's
// page ask for them and chart them.

export const STATS_DAYS = 14

const pad = (n) => String(n).padStart(2, '0')

// The browser's time zone: days are the user's days.
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  } catch {
    return 'UTC'
  }
}

// Midnight (local wall time, no offset) of the first of the last `days`
// days, today included: "2026-03-02T00:00:00".
export function statsFromDay(days = STATS_DAYS, now = new Date()) {
  const d = new Date(now.getTime())
  d.setDate(d.getDate() - (days - 1))
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T00:00:00`
}

// The query for the last `days` days by day, in the browser's zone.
export function dailyStatsQuery(extra = {}, { days = STATS_DAYS, now = new Date(), zone = browserZone() } = {}) {
  return { by: 'day', from: statsFromDay(days, now), zone, ...extra }
}

const percent = (rate) => (rate === null || rate === undefined ? null : +(rate * 100).toFixed(1))

// The ECharts option of runs by day: successes and failures (failed and
// unknown) stacked, the success rate as a line on its own axis. `t` names
// the series in the UI's language.
export function successChartOption(days, t) {
  const items = days || []
  const success = t('execStatus.success')
  const failed = t('execStatus.error')
  const rate = t('dashboard.successRate')
  return {
    tooltip: { trigger: 'axis' },
    legend: { data: [success, failed, rate], bottom: 0 },
    grid: { left: 40, right: 48, top: 24, bottom: 48 },
    xAxis: { type: 'category', data: items.map((d) => String(d.key || '').slice(5)) },
    yAxis: [
      { type: 'value', minInterval: 1 },
      { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' }, splitLine: { show: false } },
    ],
    series: [
      { name: success, type: 'bar', barMaxWidth: 40, stack: 'runs', itemStyle: { color: '#67c23a' }, data: items.map((d) => d.success || 0) },
      {
        name: failed,
        type: 'bar',
        barMaxWidth: 40,
        stack: 'runs',
        itemStyle: { color: '#f56c6c' },
        data: items.map((d) => (d.error || 0) + (d.unknown || 0)),
      },
      { name: rate, type: 'line', yAxisIndex: 1, itemStyle: { color: '#409eff' }, data: items.map((d) => percent(d.successRate)) },
    ],
  }
}
