// Describes a cron schedule in words from what GET /api/v1/cron/preview
// answers: `normalized` (the fields in the forest dialect's numbers:
// weekdays 0-6 from Sunday, months 1-12, specials L, L-n, LW, nW, w#k, wL) or
// `every` (the interval of @every in milliseconds).
//
// describeCron(preview, text) -> string, where `text` is the `cronText`
// section of a locale's messages (src/i18n/en.js, zh-CN.js): templates with
// {name} placeholders. When a schedule has no phrasing here, its fields are
// listed instead ("second: 0, minute: 5, ...").

const RANGES = {
  second: [0, 59],
  minute: [0, 59],
  hour: [0, 23],
  'day-of-month': [1, 31],
  month: [1, 12],
  'day-of-week': [0, 6],
}

export function fill(template, values = {}) {
  return String(template).replace(/\{(\w+)\}/g, (m, key) => (key in values ? values[key] : m))
}

const pad = (n) => String(n).padStart(2, '0')

// One numeric field: {any}, {step, start} or {values} (sorted, ranges
// expanded); null for what only the day fields hold (L, W, #).
export function parseField(value, lo, hi, { progression = false } = {}) {
  const text = String(value ?? '').trim()
  if (text === '*' || text === '?') return { any: true }
  let m = /^(\*|\d+)\/(\d+)$/.exec(text)
  if (m) {
    const start = m[1] === '*' ? lo : Number(m[1])
    const step = Number(m[2])
    if (!(step > 0)) return null
    const values = []
    for (let v = start; v <= hi; v += step) values.push(v)
    return { step, start, values, star: m[1] === '*' }
  }
  const values = new Set()
  for (const part of text.split(',')) {
    m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m) return null
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (a < lo || b > hi || b < a) return null
    for (let v = a; v <= b; v++) values.add(v)
  }
  if (values.size === 0) return null
  const sorted = [...values].sort((x, y) => x - y)
  if (sorted.length === hi - lo + 1) return { any: true, full: true, values: sorted }
  // A progression that runs to the end of the range reads as a step:
  // minutes 0,30 (the server writes two values as a list) are "every 30
  // minutes", 10,40 "every 30 minutes from minute 10".
  if (progression && sorted.length >= 2) {
    const step = sorted[1] - sorted[0]
    const even = sorted.every((v, i) => i === 0 || v - sorted[i - 1] === step)
    if (even && step > 1 && sorted[0] - lo < step && sorted[sorted.length - 1] + step > hi) {
      return { step, start: sorted[0], values: sorted }
    }
  }
  return { values: sorted }
}

// Consecutive runs of a sorted list: [[1,5],[7,7]].
function runs(values) {
  const out = []
  for (const v of values) {
    const last = out[out.length - 1]
    if (last && v === last[1] + 1) last[1] = v
    else out.push([v, v])
  }
  return out
}

// "a, b and c" in the locale's way.
function joinList(items, t) {
  if (items.length <= 1) return items.join('')
  return fill(t.listLast, { rest: items.slice(0, -1).join(t.listSep), last: items[items.length - 1] })
}

// Values as a list where runs of 3+ read as ranges ("1 to 5, 7").
function listValues(values, name, t) {
  const parts = runs(values).flatMap(([a, b]) =>
    b - a >= 2 ? [fill(t.range, { from: name(a), to: name(b) })] : a === b ? [name(a)] : [name(a), name(b)],
  )
  return joinList(parts, t)
}

const isSingle = (f) => f && !f.any && !f.step && f.values.length === 1

// --- the time of day -------------------------------------------------------

// The part that repeats within an hour (or says "every hour"); null when
// it cannot be phrased.
function withinHour(sec, min, t) {
  if (min.any) {
    if (sec.any) return t.everySecond
    if (sec.step) {
      const base = fill(t.everyNSeconds, { n: sec.step })
      return sec.start === 0 ? base : `${base}${fill(t.fromSecond, { a: sec.start })}`
    }
    if (isSingle(sec) && sec.values[0] === 0) return t.everyMinute
    return fill(t.everyMinuteAtSeconds, { list: listValues(sec.values, String, t) })
  }
  if (!isSingle(sec)) return null
  const s = sec.values[0]
  const atSecond = s === 0 ? '' : fill(t.atSecond, { s })
  if (min.step) {
    const base = fill(t.everyNMinutes, { n: min.step })
    return `${base}${min.start === 0 ? '' : fill(t.fromMinute, { a: min.start })}${atSecond}`
  }
  if (isSingle(min) && min.values[0] === 0 && s === 0) return t.everyHour
  return `${fill(t.everyHourAtMinutes, { list: listValues(min.values, String, t) })}${atSecond}`
}

function describeTime(sec, min, hour, t) {
  // Fixed times of day: "at 02:00:00" (a few of them at most).
  if (isSingle(sec) && isSingle(min) && !hour.any && !hour.step && hour.values.length <= 4) {
    const times = hour.values.map((h) => `${pad(h)}:${pad(min.values[0])}:${pad(sec.values[0])}`)
    return { at: true, text: fill(t.atTimes, { times: joinList(times, t) }) }
  }
  // Every n hours.
  if (isSingle(sec) && isSingle(min) && hour.step) {
    let text = fill(t.everyNHours, { n: hour.step })
    if (hour.start !== 0) text += fill(t.fromTime, { time: `${pad(hour.start)}:00` })
    const m = min.values[0]
    const s = sec.values[0]
    if (m !== 0 || s !== 0) {
      text += s === 0 ? fill(t.atMinute, { m }) : fill(t.atMinuteSecond, { m, s })
    }
    return { at: false, text }
  }
  const inner = withinHour(sec, min, t)
  if (!inner) return null
  if (hour.any) return { at: false, text: inner }
  const hourRuns = runs(hour.values)
  let qualifier
  if (hourRuns.length === 1) {
    const [a, b] = hourRuns[0]
    qualifier = fill(t.betweenHours, { from: `${pad(a)}:00`, to: `${pad(b)}:59` })
  } else {
    qualifier = fill(t.duringHours, { list: listValues(hour.values, String, t) })
  }
  return { at: false, text: fill(t.timeInHours, { time: inner, hours: qualifier }) }
}

// --- days, months, years ---------------------------------------------------

const ORDINAL_KEYS = ['first', 'second', 'third', 'fourth', 'fifth']

function describeDom(value, t, monthAny) {
  const text = String(value)
  const parsed = parseField(text, 1, 31)
  const scope = monthAny ? t.ofMonth : ''
  if (parsed && parsed.step) {
    return fill(t.domStep, { n: parsed.step, a: parsed.start, scope })
  }
  if (parsed && parsed.values) {
    const list = listValues(parsed.values, String, t)
    return fill(parsed.values.length === 1 ? t.domDay : t.domDays, { list, scope })
  }
  // Specials, possibly with plain values: "1,15,L".
  const phrases = []
  const plain = []
  for (const part of text.split(',')) {
    let m
    if (/^\d+(-\d+)?$/.test(part)) plain.push(part)
    else if (part === 'L') phrases.push(t.domLast)
    else if (part === 'LW') phrases.push(t.domLastWeekday)
    else if ((m = /^L-(\d+)W$/.exec(part))) phrases.push(fill(t.domLastMinusWeekday, { n: m[1] }))
    else if ((m = /^L-(\d+)$/.exec(part))) phrases.push(fill(t.domLastMinus, { n: m[1] }))
    else if ((m = /^(\d+)W$/.exec(part))) phrases.push(fill(t.domNearestWeekday, { d: m[1] }))
    else return null
  }
  if (plain.length) {
    const p = parseField(plain.join(','), 1, 31)
    if (!p || !p.values) return null
    phrases.unshift(fill(p.values.length === 1 ? t.domDayBare : t.domDaysBare, { list: listValues(p.values, String, t) }))
  }
  return fill(t.domSpecial, { list: joinList(phrases, t), scope })
}

function describeDow(value, t) {
  const text = String(value)
  const day = (w) => t.weekdays[w % 7]
  const parsed = parseField(text, 0, 6)
  if (parsed && parsed.values) return fill(t.dowList, { list: listValues(parsed.values, day, t) })
  const phrases = []
  const plain = []
  for (const part of text.split(',')) {
    let m
    if (/^\d+(-\d+)?$/.test(part)) plain.push(part)
    else if ((m = /^(\d)#(\d)$/.exec(part))) {
      const nth = t.ordinals[ORDINAL_KEYS[Number(m[2]) - 1]]
      if (!nth) return null
      phrases.push(fill(t.dowNth, { nth, day: day(Number(m[1])) }))
    } else if ((m = /^(\d)L$/.exec(part))) phrases.push(fill(t.dowLast, { day: day(Number(m[1])) }))
    else return null
  }
  if (plain.length) {
    const p = parseField(plain.join(','), 0, 6)
    if (!p || !p.values) return null
    phrases.unshift(fill(t.dowList, { list: listValues(p.values, day, t) }))
  }
  return joinList(phrases, t)
}

function describeMonth(value, t) {
  const parsed = parseField(value, 1, 12)
  if (!parsed || !parsed.values) return null
  return fill(t.inMonths, { list: listValues(parsed.values, (m) => t.months[m - 1], t) })
}

function describeDays(fields, t) {
  const dom = fields['day-of-month'] ?? '*'
  const dow = fields['day-of-week'] ?? '*'
  const month = fields.month ?? '*'
  const year = fields.year ?? '*'
  const monthAny = month === '*'
  const out = { year: '', month: '', day: '' }
  if (year !== '*') {
    if (!/^[\d,-]+$/.test(year)) return null
    out.year = fill(t.inYears, { list: year.split(',').join(t.listSep) })
  }
  if (!monthAny) {
    out.month = describeMonth(month, t)
    if (!out.month) return null
  }
  const domRestricted = dom !== '*'
  const dowRestricted = dow !== '*'
  if (domRestricted && dowRestricted) {
    // Both restricted: either matches, unless one is written from '*'
    // (then both must match), which has no phrasing here.
    if (dom.startsWith('*') || dow.startsWith('*')) return null
    const a = describeDom(dom, t, monthAny)
    const b = describeDow(dow, t)
    if (!a || !b) return null
    out.day = fill(t.domOrDow, { dom: a, dow: b })
  } else if (domRestricted) {
    out.day = describeDom(dom, t, monthAny)
  } else if (dowRestricted) {
    out.day = describeDow(dow, t)
  }
  if (out.day === null) return null
  out.restricted = Boolean(out.year || out.month || out.day)
  return out
}

// --- @every -----------------------------------------------------------------

export function describeEvery(ms, t) {
  const units = [
    ['day', 86400000],
    ['hour', 3600000],
    ['minute', 60000],
    ['second', 1000],
    ['millisecond', 1],
  ]
  let rest = ms
  const parts = []
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size)
    if (n > 0) {
      parts.push({ n, unit })
      rest -= n * size
    }
  }
  if (parts.length === 1 && parts[0].n === 1) return fill(t.everyUnit, { unit: t.units[parts[0].unit] })
  const text = parts
    .map(({ n, unit }) => fill(t.amount, { n, unit: n === 1 ? t.units[unit] : t.units[`${unit}s`] }))
    .join(t.amountSep)
  return fill(t.everyAmount, { amount: text })
}

// --- the whole ----------------------------------------------------------------

export function listFields(normalized, t) {
  return normalized
    .filter(({ field, value }) => !(field === 'year' && value === '*'))
    .map(({ field, value }) => `${t.fieldNames[field] || field}${t.fieldSep}${value}`)
    .join(t.fieldsSep)
}

export function describeCron(preview, t) {
  if (!preview || !t) return ''
  if (preview.canFire === false) return t.never
  if (preview.every) return describeEvery(Number(preview.every), t)
  const normalized = preview.normalized || []
  if (!normalized.length) return ''
  const fields = Object.fromEntries(normalized.map(({ field, value }) => [field, String(value)]))
  const parsed = {}
  for (const name of ['second', 'minute', 'hour']) {
    const [lo, hi] = RANGES[name]
    parsed[name] = parseField(fields[name] ?? '*', lo, hi, { progression: true })
  }
  const time = parsed.second && parsed.minute && parsed.hour
    ? describeTime(parsed.second, parsed.minute, parsed.hour, t)
    : null
  const days = time ? describeDays(fields, t) : null
  if (!time || !days) return listFields(normalized, t)

  let dayText = ''
  if (days.restricted) dayText = fill(t.daysTemplate, days)
  else if (time.at) dayText = t.everyDay
  const template = dayText ? (time.at ? t.composeAt : t.composeEvery) : t.composeTimeOnly
  return fill(template, { time: time.text, days: dayText }).replace(/\s+/g, ' ').trim()
}
