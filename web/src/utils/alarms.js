// The alarm history (GET /api/v1/alarms): kinds, delivery states and the
// message an alarm's facts make.

// alarm.json AlarmKind (src/alarm/event.h).
export const ALARM_KINDS = [
  'failed',
  'timed_out',
  'unknown',
  'no_worker',
  'misfire',
  'long_running',
  'recovered',
  'group_empty',
  'leader_changed',
  'test',
]
export const DELIVERY_STATES = ['pending', 'sending', 'sent', 'failed']

// Element Plus tag types.
export const ALARM_KIND_TYPES = {
  failed: 'danger',
  timed_out: 'danger',
  unknown: 'warning',
  no_worker: 'danger',
  misfire: 'warning',
  long_running: 'warning',
  recovered: 'success',
  group_empty: 'danger',
  leader_changed: 'info',
  test: 'info',
}
export const DELIVERY_STATE_TYPES = { pending: 'warning', sending: 'primary', sent: 'success', failed: 'danger' }

// A delivery the server is still working on.
export const isDeliveryOpen = (d) => d?.state === 'pending' || d?.state === 'sending'

// The delivery states of an alarm in a few counts: { sent: 2, failed: 1 }.
export function deliveryCounts(alarm) {
  const out = {}
  for (const d of alarm?.deliveries || []) out[d.state] = (out[d.state] || 0) + 1
  return out
}

// The message a channel sends for an alarm unless its template says
// otherwise: the server's default text (alarm/event.cc Event::Text), made
// from the alarm's facts. In English, as the channels get it.
export function alarmMessage(alarm) {
  const f = alarm?.facts && typeof alarm.facts === 'object' ? alarm.facts : {}
  const get = (key) => {
    const v = f[key] ?? alarm?.[key]
    return v === undefined || v === null ? '' : String(v)
  }
  const lines = [`[Forest] ${alarm?.title || ''}`]
  const line = (name, value) => {
    if (value) lines.push(`${name}: ${value}`)
  }
  const jobId = get('jobId')
  const jobName = get('jobName')
  if (jobId) line('Job', !jobName || jobName === jobId ? jobId : `${jobName} (${jobId})`)
  line('Group', get('group'))
  line('Execution', get('executionId'))
  line('Worker', get('worker'))
  line('Status', get('status'))
  line('Scheduled', get('scheduledAt'))
  line('Started', get('startedAt'))
  line('Finished', get('finishedAt'))
  line('Result', get('result'))
  const count = Number(get('count')) || 1
  if (count > 1) line('Events', `${count} between ${get('firstAt')} and ${get('lastAt')}`)
  else line('At', get('at') || get('lastAt'))
  line('Leader', get('node') || get('leaderNode'))
  line('Link', get('link'))
  return lines.join('\n')
}
