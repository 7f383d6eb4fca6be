// Display helpers. Times from the API are RFC 3339 (UTC); they are shown in
// the browser's zone as "YYYY-MM-DD HH:mm:ss". Execution records also carry
// the original's "YYYY-MM-DD HH:mm:ss" texts (the server's local time),
// which are shown as they are.

const pad = (n, w = 2) => String(n).padStart(w, '0')

export function formatTime(value) {
  if (!value) return ''
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)) return value
  const d = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(d.getTime())) return String(value)
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  )
}

// "2026-03-01T08:00:00+08:00" -> "2026-03-01 08:00:00 +08:00" (the wall
// time in the zone the preview was asked for).
export function formatLocalWithOffset(value) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(value || '')
  if (!m) return value || ''
  const offset = !m[3] || m[3] === 'Z' ? 'UTC' : m[3]
  return `${m[1]} ${m[2]} ${offset}`
}

// A duration in milliseconds: "850 ms", "12.3 s", "4 min 5 s", "2 h 3 min".
// `u` names the units in the UI's language (i18n `units`).
export function formatDuration(ms, u = { ms: 'ms', s: 's', min: 'min', h: 'h', d: 'd' }) {
  if (ms === null || ms === undefined || ms === '' || Number.isNaN(Number(ms))) return ''
  const n = Number(ms)
  if (n < 1000) return `${Math.round(n)} ${u.ms}`
  if (n < 60000) return `${(n / 1000).toFixed(n < 10000 ? 2 : 1).replace(/\.?0+$/, '')} ${u.s}`
  const s = Math.round(n / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} ${u.min}${s % 60 ? ` ${s % 60} ${u.s}` : ''}`
  if (s < 86400) {
    const m = Math.floor((s % 3600) / 60)
    return `${Math.floor(s / 3600)} ${u.h}${m ? ` ${m} ${u.min}` : ''}`
  }
  const h = Math.floor((s % 86400) / 3600)
  return `${Math.floor(s / 86400)} ${u.d}${h ? ` ${h} ${u.h}` : ''}`
}

// "in 5 minutes", "3 hours ago" in the locale.
export function formatRelative(value, locale, now = Date.now()) {
  if (!value) return ''
  const t = new Date(value).getTime()
  if (Number.isNaN(t)) return ''
  const diff = (t - now) / 1000
  const abs = Math.abs(diff)
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
  if (abs < 60) return rtf.format(Math.round(diff), 'second')
  if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute')
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour')
  return rtf.format(Math.round(diff / 86400), 'day')
}

export function formatPercent(rate, digits = 1) {
  if (rate === null || rate === undefined) return '–'
  return `${(Number(rate) * 100).toFixed(digits).replace(/\.0+$/, '')}%`
}

// ISO date-time for API filters from a Date or text; '' when empty.
export function toIso(value) {
  if (!value) return ''
  const d = value instanceof Date ? value : new Date(value)
  return Number.isNaN(d.getTime()) ? '' : d.toISOString()
}
