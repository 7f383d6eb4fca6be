// The cron describer against `normalized` fields as GET /api/v1/cron/preview
// answers them (src/cron/cron.cc, Schedule::Fields), in both languages.
import { describe, expect, it } from 'vitest'
import { describeCron, describeEvery, parseField } from '../src/utils/cron-describe.js'
import en from '../src/i18n/en.js'
import zhCN from '../src/i18n/zh-CN.js'

const FIELDS = ['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week', 'year']
// "0 0/30 9-17 * * 1-5" -> the preview's normalized array.
const preview = (text) => ({
  valid: true,
  canFire: true,
  every: null,
  normalized: text.split(' ').map((value, i) => ({ field: FIELDS[i], value })),
})

// [expression, normalized fields (second .. year), English, Chinese]
const CASES = [
  ['* * * * * ?', '* * * * * * *', 'every second', '每秒'],
  ['*/2 * * * * ?', '*/2 * * * * * *', 'every 2 seconds', '每 2 秒'],
  ['0/30 * * * * ?', '0,30 * * * * * *', 'every 30 seconds', '每 30 秒'],
  ['0 * * * * ?', '0 * * * * * *', 'every minute', '每分钟'],
  ['*/5 * * * *', '0 */5 * * * * *', 'every 5 minutes', '每 5 分钟'],
  ['30 */5 * * * ?', '30 */5 * * * * *', 'every 5 minutes at second 30', '每 5 分钟的第 30 秒'],
  ['0 10/20 * * * ?', '0 10,30,50 * * * * *', 'every 20 minutes starting at minute 10', '每 20 分钟（从第 10 分起）'],
  ['0 0 * * * ?', '0 0 * * * * *', 'every hour', '每小时'],
  ['0 15 * * * ?', '0 15 * * * * *', 'every hour at minute 15', '每小时的第 15 分'],
  ['0 0 */2 * * ?', '0 0 */2 * * * *', 'every 2 hours', '每 2 小时'],
  ['0 30 1/6 * * ?', '0 30 1,7,13,19 * * * *', 'every 6 hours starting at 01:00 at minute 30', '每 6 小时（从 01:00 起）的第 30 分'],
  ['0 0 2 * * ?', '0 0 2 * * * *', 'at 02:00:00 every day', '每天 02:00:00'],
  ['0 30 9,18 * * ?', '0 30 9,18 * * * *', 'at 09:30:00 and 18:30:00 every day', '每天 09:30:00、18:30:00'],
  [
    '0 0/30 9-17 ? * MON-FRI',
    '0 0,30 9-17 * * 1-5 *',
    'every 30 minutes between 09:00 and 17:59 on Monday to Friday',
    '每周一至周五 09:00 至 17:59 之间每 30 分钟',
  ],
  ['0 0 9-17 * * ?', '0 0 9-17 * * * *', 'every hour between 09:00 and 17:59', '09:00 至 17:59 之间每小时'],
  ['*/10 * 8 * * ?', '*/10 * 8 * * * *', 'every 10 seconds between 08:00 and 08:59', '08:00 至 08:59 之间每 10 秒'],
  ['0 0 8 * * 1,3,5', '0 0 8 * * 1,3,5 *', 'at 08:00:00 on Monday, Wednesday and Friday', '每周一、周三、周五 08:00:00'],
  ['0 0 8 * * 0', '0 0 8 * * 0 *', 'at 08:00:00 on Sunday', '每周日 08:00:00'],
  ['0 0 0 1,15 * ?', '0 0 0 1,15 * * *', 'at 00:00:00 on days 1 and 15 of the month', '每月 1、15 日 00:00:00'],
  ['0 0 0 1-10 * ?', '0 0 0 1-10 * * *', 'at 00:00:00 on days 1 to 10 of the month', '每月 1至10 日 00:00:00'],
  ['0 0 6 */2 * ?', '0 0 6 */2 * * *', 'at 06:00:00 every 2 days from day 1 of the month', '每月从 1 日起每 2 天 06:00:00'],
  ['0 15 10 L * ?', '0 15 10 L * * *', 'at 10:15:00 on the last day of the month', '每月最后一天 10:15:00'],
  ['0 0 18 LW * ?', '0 0 18 LW * * *', 'at 18:00:00 on the last weekday of the month', '每月最后一个工作日 18:00:00'],
  ['0 0 9 15W * ?', '0 0 9 15W * * *', 'at 09:00:00 on the weekday nearest day 15 of the month', '每月离 15 日最近的工作日 09:00:00'],
  ['0 0 0 L-2 * ?', '0 0 0 L-2 * * *', 'at 00:00:00 on 2 days before the last day of the month', '每月最后一天的前 2 天 00:00:00'],
  ['0 0 0 1,L * ?', '0 0 0 1,L * * *', 'at 00:00:00 on day 1 and the last day of the month', '每月 1 日、最后一天 00:00:00'],
  ['0 0 12 ? * FRI#2', '0 0 12 * * 5#2 *', 'at 12:00:00 on the second Friday of the month', '每月第 2 个周五 12:00:00'],
  ['0 0 12 ? * 1L', '0 0 12 * * 1L *', 'at 12:00:00 on the last Monday of the month', '每月最后一个周一 12:00:00'],
  ['0 0 0 1 1 ?', '0 0 0 1 1 * *', 'at 00:00:00 on day 1 in January', '一月 1 日 00:00:00'],
  ['0 0 0 1 */3 ?', '0 0 0 1 */3 * *', 'at 00:00:00 on day 1 in January, April, July and October', '一月、四月、七月、十月 1 日 00:00:00'],
  ['0 0 0 * 6-8 ?', '0 0 0 * 6-8 * *', 'at 00:00:00 in June to August', '六月至八月 00:00:00'],
  ['0 0 0 1 1 ? 2030', '0 0 0 1 1 * 2030', 'at 00:00:00 on day 1 in January in 2030', '2030 年 一月 1 日 00:00:00'],
  ['0 0 0 1,15 * MON', '0 0 0 1,15 * 1 *', 'at 00:00:00 on days 1 and 15 of the month or on Monday', '每月 1、15 日或每周一 00:00:00'],
]

describe('describeCron', () => {
  it.each(CASES)('%s in English', (expr, fields, english) => {
    expect(describeCron(preview(fields), en.cronText)).toBe(english)
  })
  it.each(CASES)('%s in Chinese', (expr, fields, english, chinese) => {
    expect(describeCron(preview(fields), zhCN.cronText)).toBe(chinese)
  })

  it('lists the fields when it cannot phrase the schedule', () => {
    // Odd days that are Mondays: both day fields, one written from '*'.
    const p = preview('0 0 0 */2 * 1 *')
    expect(describeCron(p, en.cronText)).toBe(
      'second: 0; minute: 0; hour: 0; day of month: */2; month: *; day of week: 1',
    )
    expect(describeCron(p, zhCN.cronText)).toBe('秒：0；分：0；时：0；日：*/2；月：*；周：1')
  })

  it('lists the fields for every second within one minute of the hour', () => {
    expect(describeCron(preview('* 5 * * * * *'), en.cronText)).toBe(
      'second: *; minute: 5; hour: *; day of month: *; month: *; day of week: *',
    )
  })

  it('says when an expression never fires', () => {
    const p = { ...preview('0 0 0 30 2 * *'), canFire: false }
    expect(describeCron(p, en.cronText)).toBe('never fires')
    expect(describeCron(p, zhCN.cronText)).toBe('永远不会触发')
  })

  it('describes @every intervals', () => {
    const every = (ms) => ({ valid: true, canFire: true, normalized: [], every: ms })
    expect(describeCron(every(2000), en.cronText)).toBe('every 2 seconds')
    expect(describeCron(every(3600000), en.cronText)).toBe('every hour')
    expect(describeCron(every(5400000), en.cronText)).toBe('every 1 hour 30 minutes')
    expect(describeCron(every(1500), en.cronText)).toBe('every 1 second 500 milliseconds')
    expect(describeCron(every(86400000), zhCN.cronText)).toBe('每天')
    expect(describeCron(every(5400000), zhCN.cronText)).toBe('每 1 小时 30 分钟')
    expect(describeEvery(90000, en.cronText)).toBe('every 1 minute 30 seconds')
  })

  it('answers nothing without a preview', () => {
    expect(describeCron(null, en.cronText)).toBe('')
  })
})

describe('parseField', () => {
  it('reads stars, steps, lists and ranges', () => {
    expect(parseField('*', 0, 59)).toEqual({ any: true })
    expect(parseField('*/15', 0, 59)).toMatchObject({ step: 15, start: 0, values: [0, 15, 30, 45] })
    expect(parseField('1-3,7', 0, 59)).toEqual({ values: [1, 2, 3, 7] })
    expect(parseField('0-6', 0, 6)).toMatchObject({ any: true, full: true })
    expect(parseField('L', 1, 31)).toBeNull()
  })
  it('reads a progression to the end as a step only when asked', () => {
    expect(parseField('0,30', 0, 59, { progression: true })).toMatchObject({ step: 30, start: 0 })
    expect(parseField('0,30', 0, 59)).toEqual({ values: [0, 30] })
    expect(parseField('9,17', 0, 23, { progression: true })).toEqual({ values: [9, 17] })
  })
})
