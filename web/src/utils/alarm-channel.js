// An alarm channel (src/alarm/channel.h on the server) and the channel
// form's state, both ways.
//
// Secrets are write-only: the API never answers a channel's url, secret,
// header values or password, only whether they are set (urlSet, urlHost,
// secretSet, headerNames, passwordSet). An edit leaves a secret out to keep
// it, sends "" to clear it and a value to replace it; `headers` is the whole
// set, a stored header sent with "" keeps its value. So each secret of the
// form is { set, mode: 'keep' | 'replace' | 'clear', value }, and an edit
// sends only the secrets the user chose to replace or clear.

export const CHANNEL_TYPES = ['webhook', 'dingtalk', 'wecom', 'feishu', 'slack', 'email']
export const SECURITIES = ['starttls', 'tls', 'none']
// The default port of each security (channel.cc SmtpPort).
export const SMTP_PORTS = { starttls: 587, tls: 465, none: 25 }

// The fields of each type besides the common ones (name, enabled, template,
// timeoutSeconds): what the form shows and an edit sends.
export const TYPE_FIELDS = {
  webhook: ['url', 'secret', 'headers', 'bodyTemplate', 'smsGateway'],
  dingtalk: ['url', 'secret'],
  wecom: ['url'],
  feishu: ['url', 'secret'],
  slack: ['url'],
  email: ['host', 'port', 'security', 'username', 'password', 'from', 'to', 'caFile', 'insecureSkipVerify'],
}
export const SECRET_FIELDS = ['url', 'secret', 'password']

export const hasField = (type, field) => (TYPE_FIELDS[type] || []).includes(field)

const str = (v) => (v === undefined || v === null ? '' : String(v))
const clone = (v) => JSON.parse(JSON.stringify(v ?? {}))

function secretState(isSetNow) {
  const set = Boolean(isSetNow)
  return { set, mode: set ? 'keep' : 'replace', value: '' }
}

// The form state of a channel as the API answers it ({} or null: a new one).
export function channelToForm(doc) {
  const source = doc && typeof doc === 'object' ? doc : {}
  const type = CHANNEL_TYPES.includes(source.type) ? source.type : 'webhook'
  return {
    original: clone(source),
    id: str(source.id),
    name: str(source.name),
    type,
    enabled: source.enabled !== false,
    template: str(source.template),
    timeoutSeconds: Number(source.timeoutSeconds) || 10,
    url: { ...secretState(source.urlSet), host: str(source.urlHost) },
    secret: secretState(source.secretSet),
    // Stored headers keep their name; their value is kept unless replaced.
    headers: (Array.isArray(source.headerNames) ? source.headerNames : []).map((name) => ({
      name: String(name),
      value: '',
      stored: true,
    })),
    bodyTemplate: str(source.bodyTemplate),
    smsGateway: Boolean(source.smsGateway),
    host: str(source.host),
    port: Number(source.port) || 0,
    security: SECURITIES.includes(source.security) ? source.security : 'starttls',
    username: str(source.username),
    password: secretState(source.passwordSet),
    from: str(source.from),
    to: Array.isArray(source.to) ? source.to.map(String) : [],
    caFile: str(source.caFile),
    insecureSkipVerify: Boolean(source.insecureSkipVerify),
  }
}

export const isEditForm = (form) => Boolean(form?.original?.id)

// The secret to send, or undefined to leave it out (kept on an edit, unset
// on a new channel).
function secretValue(secret, edit) {
  if (!secret) return undefined
  if (edit && secret.set) {
    if (secret.mode === 'clear') return ''
    if (secret.mode === 'replace' && secret.value !== '') return secret.value
    return undefined
  }
  return secret.value !== '' ? secret.value : undefined
}

// The headers to send, or undefined when an edit leaves them as stored.
export function headersValue(form) {
  const rows = (form.headers || []).filter((h) => str(h.name).trim() !== '' || str(h.value) !== '')
  const edit = isEditForm(form)
  const storedNames = Array.isArray(form.original?.headerNames) ? form.original.headerNames.map(String) : []
  if (edit) {
    const unchanged =
      rows.length === storedNames.length &&
      rows.every((h, i) => h.stored && h.name === storedNames[i] && str(h.value) === '')
    if (unchanged) return undefined
  } else if (rows.length === 0) {
    return undefined
  }
  const out = {}
  for (const h of rows) {
    // A stored header sent with "" keeps its value; a new one has its own.
    out[str(h.name).trim()] = str(h.value)
  }
  return out
}

// Problems the server would refuse with, found before sending (the server
// checks everything again): [{ field, key }] with an i18n key under
// alarmChannels.errors.
export function checkChannelForm(form) {
  const problems = []
  const edit = isEditForm(form)
  if (!str(form.name).trim()) problems.push({ field: 'name', key: 'nameRequired' })
  if (hasField(form.type, 'url')) {
    const keeping = edit && form.url.set && form.url.mode === 'keep'
    const value = str(form.url.value).trim()
    if (!keeping && (form.url.mode === 'clear' || !value)) problems.push({ field: 'url', key: 'urlRequired' })
    else if (!keeping && !/^https?:\/\/[^/?#\s]+/i.test(value)) problems.push({ field: 'url', key: 'urlScheme' })
  }
  if (form.type === 'webhook') {
    const names = new Set()
    for (const h of form.headers || []) {
      const name = str(h.name).trim()
      if (!name && !str(h.value)) continue
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) problems.push({ field: 'headers', key: 'headerName', name })
      else if (names.has(name.toLowerCase())) problems.push({ field: 'headers', key: 'headerTwice', name })
      else if (!h.stored && !str(h.value)) problems.push({ field: 'headers', key: 'headerValue', name })
      names.add(name.toLowerCase())
    }
  }
  if (form.type === 'email') {
    if (!str(form.host).trim()) problems.push({ field: 'host', key: 'hostRequired' })
    if (!str(form.from).trim()) problems.push({ field: 'from', key: 'fromRequired' })
    if (!(form.to || []).some((a) => str(a).trim())) problems.push({ field: 'to', key: 'toRequired' })
  }
  return problems
}

// The body of POST (a new channel) or PUT (an edit) /api/v1/alarm-channels.
// An edit names the version it edited (409 if the channel changed since),
// leaves out the secrets it keeps and the fields of other types.
export function formToChannel(form) {
  const edit = isEditForm(form)
  const body = {}
  if (edit) {
    if (form.original.version !== undefined) body.version = form.original.version
  } else if (str(form.id).trim()) {
    body.id = str(form.id).trim()
  }
  body.type = form.type
  body.name = str(form.name).trim()
  body.enabled = Boolean(form.enabled)
  body.template = str(form.template)
  body.timeoutSeconds = Math.round(Number(form.timeoutSeconds) || 10)

  const fields = TYPE_FIELDS[form.type] || []
  for (const field of SECRET_FIELDS) {
    if (!fields.includes(field)) continue
    const secret = form[field]
    const value = secretValue(field === 'url' ? { ...secret, value: str(secret?.value).trim() } : secret, edit)
    if (value !== undefined) body[field] = value
  }
  if (fields.includes('headers')) {
    const headers = headersValue(form)
    if (headers !== undefined) body.headers = headers
  }
  if (fields.includes('bodyTemplate')) body.bodyTemplate = str(form.bodyTemplate)
  if (fields.includes('smsGateway')) body.smsGateway = Boolean(form.smsGateway)
  if (form.type === 'email') {
    body.host = str(form.host).trim()
    body.port = Math.round(Number(form.port) || 0)
    body.security = form.security
    body.username = str(form.username).trim()
    body.from = str(form.from).trim()
    body.to = (form.to || []).map((a) => str(a).trim()).filter(Boolean)
    body.caFile = str(form.caFile).trim()
    body.insecureSkipVerify = Boolean(form.insecureSkipVerify)
  }
  return body
}

// Where a channel sends, in a few words, for the list (no secret in it).
export function channelTarget(doc) {
  if (!doc) return ''
  if (doc.type === 'email') {
    const to = Array.isArray(doc.to) ? doc.to : []
    const server = doc.host ? `${doc.host}${doc.port ? `:${doc.port}` : ''}` : ''
    return [to.join(', '), server && `(${server})`].filter(Boolean).join(' ')
  }
  return str(doc.urlHost)
}

// The form's field for each field the server may name in an error.
export function channelFieldOfError(field) {
  if (!field) return ''
  const f = String(field).replace(/\[\d+\]$/, '').split('.')[0]
  const known = ['id', 'name', 'type', 'enabled', 'template', 'timeoutSeconds', 'version']
  for (const list of Object.values(TYPE_FIELDS)) known.push(...list)
  return known.includes(f) ? f : ''
}
