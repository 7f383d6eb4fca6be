#!/usr/bin/env node
// End-to-end test of the web UI against a real `forest server`.
//
//   node web/e2e/ui.e2e.mjs --forest /path/to/forest --artifacts /path/to/dir [--web-dir DIR]
//
// Starts a standalone server (fresh data directory, free port on
// 127.0.0.1, --allow-shell, --lease-ttl 2; --web-dir when given, otherwise
// the binary's embedded UI), drives Debian's Chromium through the scenario
// below, takes a full-page screenshot of every page into the artifacts
// directory, and always stops the server and removes the data directory.
// Exits non-zero naming the step that failed.
//
// Scenario: log in as admin; create a group; create a job in group `local`
// (the standalone server's embedded worker) running `echo hello` every 2
// seconds; see executions with output `hello`; pause it and see firing
// stop; run it by hand and see that run (trigger manual); edit its cron and
// see the plan's new next fire; log in again "in another tab" and see a
// write of the first tab still go through (its CSRF token is refreshed);
// delete the job; switch to Chinese (the tab's title too).
//
// Alarms (when the server offers them: GET /api/v1/alarm-channels is not a
// 404; otherwise skipped with a note): create a webhook channel pointing at
// a local receiver (127.0.0.1), test-send it (signed, with its header) and
// see it arrive, edit it keeping its secrets, give a job that fails (`false`
// in group `local` every 2 s) an alarm rule onFailure with that channel, and
// see the alarm in the history with its delivery sent and the message at the
// receiver; set and remove a group's default rule; clean up.
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'

const { values: args } = parseArgs({
  options: {
    forest: { type: 'string' },
    artifacts: { type: 'string', default: 'e2e-artifacts' },
    'web-dir': { type: 'string' },
    headed: { type: 'boolean', default: false },
    // Development: drive an already running UI (e.g. `npm run dev`) instead
    // of starting a server; its admin password is --password.
    url: { type: 'string' },
    password: { type: 'string' },
  },
})
if (!args.forest && !args.url) {
  console.error('usage: node web/e2e/ui.e2e.mjs --forest /path/to/forest --artifacts DIR [--web-dir DIR]')
  process.exit(2)
}

const FOREST = args.forest ? resolve(args.forest) : ''
const ARTIFACTS = resolve(args.artifacts)
const WEB_DIR = args['web-dir'] ? resolve(args['web-dir']) : ''
const PASSWORD = args.password || 'e2e-admin-pass-1'
const TIMEOUT = 20000
const GROUP = 'e2e-group'
const JOB = 'e2e-echo'
const ALARM_JOB = 'e2e-fail'
const CHANNEL = 'e2e-hook'
const CHANNEL_SECRET = 'e2e-signing-secret'

mkdirSync(ARTIFACTS, { recursive: true })
const log = (...m) => console.log(`[e2e ${new Date().toISOString().slice(11, 23)}]`, ...m)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// --- the server ------------------------------------------------------------------

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => res(port))
    })
  })
}

let server = null
let dataDir = ''

async function startServer() {
  if (!existsSync(FOREST)) throw new Error(`no forest binary at ${FOREST}`)
  const port = await freePort()
  dataDir = mkdtempSync(join(tmpdir(), 'forest-e2e-'))
  const argv = [
    'server',
    '--http-address', `127.0.0.1:${port}`,
    '--data-dir', dataDir,
    '--admin-password', PASSWORD,
    '--allow-shell',
    '--lease-ttl', '2',
  ]
  if (WEB_DIR) argv.push('--web-dir', WEB_DIR)
  log('starting', FOREST, argv.join(' '))
  const out = createWriteStream(join(ARTIFACTS, 'server.log'))
  server = spawn(FOREST, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  server.stdout.pipe(out)
  server.stderr.pipe(out)
  let exited = null
  server.on('exit', (code, signal) => (exited = { code, signal }))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30000
  while (Date.now() < deadline) {
    if (exited) throw new Error(`forest server exited early (${JSON.stringify(exited)}); see ${join(ARTIFACTS, 'server.log')}`)
    try {
      const r = await fetch(`${base}/healthz`)
      if (r.ok) return base
    } catch {
      // not up yet
    }
    await sleep(200)
  }
  throw new Error('forest server: /healthz did not answer within 30 s')
}

async function stopServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    const done = new Promise((r) => server.once('exit', r))
    server.kill('SIGTERM')
    const killed = await Promise.race([done.then(() => true), sleep(10000).then(() => false)])
    if (!killed) {
      log('server did not stop in 10 s: SIGKILL')
      server.kill('SIGKILL')
      await Promise.race([done, sleep(5000)])
    }
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}

// --- a webhook receiver (alarms) -------------------------------------------------------

let receiver = null
const received = [] // { at, path, headers, body }

async function startReceiver() {
  receiver = createHttpServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      received.push({ at: Date.now(), path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end('{"ok":true}')
    })
  })
  await new Promise((res, rej) => {
    receiver.once('error', rej)
    receiver.listen(0, '127.0.0.1', res)
  })
  return `http://127.0.0.1:${receiver.address().port}`
}

async function stopReceiver() {
  if (!receiver) return
  receiver.closeAllConnections?.()
  await new Promise((res) => receiver.close(() => res()))
  receiver = null
}

// X-Forest-Signature: sha256=HMAC-SHA256(secret, X-Forest-Timestamp + "." + body).
function signatureOk(request, secret) {
  const ts = request.headers['x-forest-timestamp']
  const sig = request.headers['x-forest-signature']
  if (!ts || !sig) return false
  return sig === `sha256=${createHmac('sha256', secret).update(`${ts}.${request.body}`).digest('hex')}`
}

// --- helpers ---------------------------------------------------------------------------

let page
let currentStep = ''

async function step(name, fn) {
  currentStep = name
  log('step:', name)
  try {
    await fn()
  } catch (e) {
    const shot = join(ARTIFACTS, `failure-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`)
    const saved = page ? await page.screenshot({ path: shot, fullPage: true }).then(() => true, () => false) : false
    throw new Error(`step "${name}" failed: ${e.message}${saved ? `\n(screenshot: ${shot})` : ''}`)
  }
}

// Polls `fn` until it answers something truthy.
async function until(what, fn, timeout = TIMEOUT, every = 500) {
  const deadline = Date.now() + timeout
  let last
  while (Date.now() < deadline) {
    try {
      last = await fn()
      if (last) return last
    } catch (e) {
      last = e.message
    }
    await sleep(every)
  }
  throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}${last ? ` (last: ${last})` : ''}`)
}

const tid = (id, extra = '') => `[data-testid="${id}"]${extra}`

async function shot(name) {
  await page.waitForLoadState('networkidle').catch(() => {})
  await sleep(400) // let charts and transitions finish
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

async function nav(name) {
  await page.click(tid(`nav-${name}`))
  await page.waitForURL((url) => url.pathname === `/${name}`, { timeout: TIMEOUT })
}

// A page of the Alarms section of the menu (/alarms/<page>).
async function navAlarms(name) {
  const item = page.locator(tid(`nav-alarm-${name}`))
  if (!(await item.isVisible())) await page.locator(tid('nav-alarms')).locator('.el-sub-menu__title').click()
  await item.click()
  await page.waitForURL((url) => url.pathname === `/alarms/${name}`, { timeout: TIMEOUT })
}

// JSON equality whatever the order of the keys (the server sorts them).
const canonical = (v) =>
  Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])])) : v
const sameJson = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))

// A choice of an el-radio-group (its buttons carry data-value).
async function pick(testid, value, scope = page) {
  await scope.locator(`${tid(testid)} [data-value="${value}"]`).first().click()
}

// The visible dropdown's option with this text.
async function chooseOption(text) {
  const option = page.locator('.el-select-dropdown__item:visible', { hasText: text }).first()
  await option.waitFor({ timeout: TIMEOUT })
  await option.click()
}

async function fillInput(testid, value) {
  const el = page.locator(tid(testid)).first()
  await el.waitFor({ state: 'visible', timeout: TIMEOUT })
  await el.fill(value)
}

// Chooses (or creates) a value in a filterable el-select.
async function chooseInSelect(testid, value) {
  const select = page.locator(tid(testid)).first()
  await select.click()
  await page.keyboard.type(value)
  await sleep(300)
  await page.keyboard.press('Enter')
  await until(`${testid} to show ${value}`, async () => (await select.innerText()).includes(value), 5000, 200)
}

// The execution rows of the job on the executions page, newest first.
async function executionRows(query) {
  await page.goto(`${BASE}/executions?${new URLSearchParams(query)}`)
  await page.locator(tid('executions-table')).waitFor({ timeout: TIMEOUT })
  await page.waitForLoadState('networkidle').catch(() => {})
  await sleep(200)
  return page.locator(tid('exec-row')).evaluateAll((els) =>
    els.map((e) => ({ id: e.dataset.execId, status: e.dataset.status, trigger: e.dataset.trigger })),
  )
}

async function executionTotal(query) {
  const rows = await executionRows(query)
  const text = await page.locator('.el-pagination__total').first().innerText().catch(() => '')
  const total = Number((text.match(/\d+/) || ['0'])[0])
  return { rows, total }
}

function nextUtc(hour) {
  const now = new Date()
  const t = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour, 0, 0))
  if (t <= now) t.setUTCDate(t.getUTCDate() + 1)
  return t
}

// --- the scenario --------------------------------------------------------------------------

let BASE = ''
let jobId = ''

async function scenario(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'en-US' })
  page = await context.newPage()
  page.setDefaultTimeout(TIMEOUT)
  const consoleErrors = []
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e}`))
  page.on('console', (m) => {
    // Failed requests (a 401 before logging in) are expected; script errors
    // and Content-Security-Policy refusals are not.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleErrors.push(m.text())
  })

  await step('open the login page', async () => {
    await page.goto(`${BASE}/jobs`)
    await page.waitForURL((url) => url.pathname === '/login', { timeout: TIMEOUT })
    const redirect = new URL(page.url()).searchParams.get('redirect')
    if (redirect !== '/jobs') throw new Error(`the login page should keep the intended route, redirect=${redirect}`)
    await page.locator(tid('login-user')).waitFor()
    await shot('01-login')
  })

  await step('log in as admin', async () => {
    await fillInput('login-user', 'admin')
    await fillInput('login-password', PASSWORD)
    await page.click(tid('login-submit'))
    await page.waitForURL((url) => url.pathname === '/jobs', { timeout: TIMEOUT })
    await page.locator(tid('user-name')).filter({ hasText: 'admin' }).waitFor()
  })

  await step('see the dashboard', async () => {
    await nav('dashboard')
    await page.locator(tid('stat-runs24h')).waitFor()
    await page.locator(tid('dashboard-leader')).waitFor()
    await shot('02-dashboard')
  })

  await step('create a group', async () => {
    await nav('groups')
    await page.click(tid('group-create'))
    await fillInput('group-name', GROUP)
    await fillInput('group-remark', 'made by the end-to-end test')
    await page.click(tid('group-submit'))
    await page.locator(tid('group-row', `[data-group-name="${GROUP}"]`)).waitFor()
    await shot('03-groups')
  })

  await step('the cron helper shows the error at the field', async () => {
    await nav('jobs')
    await page.click(tid('job-create'))
    await fillInput('job-cron', '0 0 25 * * ?')
    const error = page.locator(tid('cron-error'))
    await error.waitFor()
    const text = await error.innerText()
    if (!/hour/i.test(text)) throw new Error(`the cron error should name the field: "${text}"`)
  })

  await step('create a job that echoes hello every 2 seconds', async () => {
    await fillInput('job-name', JOB)
    await chooseInSelect('job-group', 'local')
    await fillInput('job-cron', '*/2 * * * * ?')
    const description = page.locator(tid('cron-description'))
    await until('the schedule in words', async () => (await description.innerText()).includes('every 2 seconds'))
    await until('five next fire times', async () => (await page.locator(tid('cron-next-time')).count()) === 5)
    await fillInput('job-target', 'echo hello')
    await shot('05-job-form')
    await page.click(tid('job-form-submit'))
    const row = page.locator(tid('job-row', `[data-job-name="${JOB}"]`))
    await row.waitFor()
    jobId = await row.getAttribute('data-job-id')
    log(`job ${JOB} has id ${jobId}`)
    await page.locator(tid('job-form')).waitFor({ state: 'hidden' })
    await shot('04-jobs')
  })

  await step('see executions with output hello', async () => {
    const row = await until('a successful execution', async () => {
      const rows = await executionRows({ jobId })
      return rows.find((r) => r.status === '2')
    })
    await page.click(tid('exec-open', `[data-exec-id="${row.id}"]`))
    const output = page.locator(tid('exec-output'))
    await until('the output hello', async () => (await output.innerText()).includes('hello'))
    await shot('06-executions-drawer')
    await page.keyboard.press('Escape')
    await page.locator(tid('exec-output')).waitFor({ state: 'hidden' })
    await shot('07-executions')
  })

  await step('pause the job and see firing stop', async () => {
    await page.goto(`${BASE}/jobs?q=${JOB}`)
    await page.click(tid('job-pause', `[data-job-name="${JOB}"]`))
    await page.locator(tid('job-resume', `[data-job-name="${JOB}"]`)).waitFor()
    await sleep(3000) // runs dispatched before the pause finish and are collected
    // No new execution for 5 s; a record collected late may arrive once.
    await until(
      'no new execution for 5 s after the pause',
      async () => {
        const before = await executionTotal({ jobId })
        await sleep(5500)
        const after = await executionTotal({ jobId })
        return before.total > 0 && after.total === before.total && after.rows[0]?.id === before.rows[0]?.id
      },
      30000,
      0,
    )
  })

  await step('run the job by hand and see that run', async () => {
    await page.goto(`${BASE}/jobs?q=${JOB}`)
    await page.click(tid('job-run', `[data-job-name="${JOB}"]`))
    await page.locator(tid('run-dialog')).waitFor()
    await page.click(tid('run-confirm'))
    await page.locator(tid('run-dialog')).waitFor({ state: 'hidden' })
    // A run from the UI (a session) is a run by hand: trigger "manual".
    const byHand = (r) => r.trigger === 'manual'
    const rows = await until('the run by hand, succeeded', async () => {
      const list = (await executionRows({ jobId })).filter(byHand)
      return list.some((r) => r.status === '2') ? list : null
    })
    if (rows.length !== 1) throw new Error(`expected one run by hand, saw ${rows.length}`)
    log(`the run by hand has trigger ${rows[0].trigger}`)
    await page.click(tid('exec-open', `[data-exec-id="${rows[0].id}"]`))
    // The drawer shows the trigger in words and keeps the value in data-trigger.
    const trigger = page.locator(tid('exec-trigger-text'))
    await until('the trigger in the drawer', async () => (await trigger.getAttribute('data-trigger')) === 'manual')
    const label = await trigger.innerText()
    if (label !== 'Manual') throw new Error(`the trigger should read "Manual", not "${label}"`)
    await until('the output hello', async () => (await page.locator(tid('exec-output')).innerText()).includes('hello'))
    await page.keyboard.press('Escape')
  })

  await step('edit the cron and see the new next fire on the plans page', async () => {
    await page.goto(`${BASE}/jobs?q=${JOB}`)
    await page.click(tid('job-edit', `[data-job-name="${JOB}"]`))
    await page.locator(tid('job-form')).waitFor()
    await fillInput('job-cron', '0 0 3 * * ?')
    await until('the new schedule in words', async () => (await page.locator(tid('cron-description')).innerText()).includes('at 03:00:00 every day'))
    await page.click(tid('job-form-submit'))
    await page.locator(tid('job-form')).waitFor({ state: 'hidden' })
    // Plans list enabled jobs: resume it (it fires at 03:00 UTC only now).
    await page.click(tid('job-resume', `[data-job-name="${JOB}"]`))
    await page.locator(tid('job-pause', `[data-job-name="${JOB}"]`)).waitFor()
    const expected = nextUtc(3).getTime()
    await nav('plans')
    await until('the plan with the next fire at 03:00 UTC', async () => {
      await page.click(tid('plans-refresh'))
      await sleep(300)
      const next = await page.locator(tid('plan-next', `[data-job-name="${JOB}"]`)).getAttribute('data-next-time', { timeout: 2000 })
      return next && new Date(next).getTime() === expected
    })
    await shot('08-plans')
  })

  await step('see the job detail page', async () => {
    await page.click(tid('plan-row', `[data-job-name="${JOB}"]`))
    await page.locator(tid('job-detail-name')).filter({ hasText: JOB }).waitFor()
    await page.locator(tid('job-executions')).locator('.el-table__row').first().waitFor()
    await shot('09-job-detail')
  })

  await step('see the workers, nodes and pending snapshots pages', async () => {
    await nav('workers')
    await page.locator(tid('worker-row', '[data-group-name="local"]')).waitFor()
    await shot('10-workers')
    await nav('nodes')
    await page.locator(tid('node-row', '[data-role="leader"]')).waitFor()
    await shot('11-nodes')
    await nav('snapshots')
    await page.locator(tid('snapshots-table')).waitFor()
    await shot('12-snapshots')
  })

  await step('see the audit log and the users page', async () => {
    await nav('audit')
    await page.locator(tid('audit-row', '[data-action]')).first().waitFor()
    await shot('13-audit')
    await nav('users')
    await page.locator(tid('user-row', '[data-user-name="admin"]')).waitFor()
    await shot('14-users')
  })

  await step('a write after logging in again in another tab', async () => {
    await page.goto(`${BASE}/jobs?q=${JOB}`)
    await page.locator(tid('job-pause', `[data-job-name="${JOB}"]`)).waitFor()
    // Another tab logs in: the browser's session cookie is replaced and the
    // CSRF token this page holds is no longer the session's.
    const relogin = await page.context().request.post(`${BASE}/api/v1/login`, {
      data: { user: 'admin', password: PASSWORD },
    })
    if (!relogin.ok()) throw new Error(`the second login answered ${relogin.status()}`)
    const seen = []
    const record = (r) => {
      const path = new URL(r.url()).pathname
      if (path.startsWith('/api/v1/')) seen.push(`${r.request().method()} ${path} ${r.status()}`)
    }
    page.on('response', record)
    await page.click(tid('job-pause', `[data-job-name="${JOB}"]`))
    await page.locator(tid('job-resume', `[data-job-name="${JOB}"]`)).waitFor()
    page.off('response', record)
    // Refused for its token, the token asked for again, sent again once.
    const expected = [`POST /api/v1/jobs/${jobId}/pause 403`, 'GET /api/v1/session 200', `POST /api/v1/jobs/${jobId}/pause 200`]
    if (JSON.stringify(seen) !== JSON.stringify(expected)) throw new Error(`the requests were: ${seen.join(', ')}`)
    await page.click(tid('job-resume', `[data-job-name="${JOB}"]`))
    await page.locator(tid('job-pause', `[data-job-name="${JOB}"]`)).waitFor()
    const title = await page.title()
    if (title !== 'Jobs · Forest') throw new Error(`the tab's title is "${title}"`)
  })

  await step('delete the job', async () => {
    await page.goto(`${BASE}/jobs?q=${JOB}`)
    await page.click(tid('job-delete', `[data-job-name="${JOB}"]`))
    await page.click(tid('confirm-ok'))
    await page.locator(tid('job-row', `[data-job-name="${JOB}"]`)).waitFor({ state: 'detached' })
  })

  await alarmSteps()

  await step('switch to Chinese', async () => {
    await nav('dashboard')
    await page.click(tid('lang-switch'))
    await page.click(tid('lang-zh-CN'))
    await until('Chinese menu text', async () => (await page.locator(tid('nav-jobs')).innerText()).includes('任务'))
    await until('the Chinese page title', async () => (await page.locator(tid('page-title')).innerText()) === '概览')
    await until('the Chinese tab title', async () => (await page.title()).startsWith('概览'))
    const lang = await page.evaluate(() => document.documentElement.lang)
    if (lang !== 'zh-CN') throw new Error(`html lang is ${lang}`)
    await shot('15-dashboard-zh')
    await page.reload()
    await until('the choice kept after a reload', async () => (await page.locator(tid('nav-jobs')).innerText()).includes('任务'))
  })

  await step('log out', async () => {
    await page.click(tid('user-menu'))
    await page.click(tid('logout'))
    await page.waitForURL((url) => url.pathname === '/login', { timeout: TIMEOUT })
  })

  await step('no script errors or CSP refusals in the page', async () => {
    if (consoleErrors.length) throw new Error(`the page reported:\n${consoleErrors.join('\n')}`)
  })
  await context.close()
}

// --- alarms -------------------------------------------------------------------------

async function alarmSteps() {
  let supported = false
  await step('ask whether the server has alarms', async () => {
    const r = await page.context().request.get(`${BASE}/api/v1/alarm-channels`)
    supported = r.status() !== 404
    if (supported && !r.ok()) throw new Error(`GET /api/v1/alarm-channels answered ${r.status()}`)
  })
  if (!supported) {
    log('NOTE: this server has no alarm API (GET /api/v1/alarm-channels is 404): the alarm steps are skipped')
    return
  }

  let hookUrl = ''
  let channelId = ''
  let alarmJobId = ''

  await step('create a webhook channel', async () => {
    hookUrl = `${await startReceiver()}/forest-hook`
    await navAlarms('channels')
    await page.click(tid('channel-create'))
    await page.locator(tid('channel-form')).waitFor()
    await fillInput('channel-name', CHANNEL)
    await fillInput('channel-url', hookUrl)
    await fillInput('channel-secret', CHANNEL_SECRET)
    await page.click(tid('channel-header-add'))
    await page.locator(tid('channel-header-name')).last().fill('X-E2E')
    await page.locator(tid('channel-header-value')).last().fill('header-secret')
    await page.click(tid('channel-form-submit'))
    await page.locator(tid('channel-form')).waitFor({ state: 'hidden' })
    const row = page.locator(tid('channel-row', `[data-channel-name="${CHANNEL}"]`))
    await row.waitFor()
    channelId = await row.getAttribute('data-channel-id')
    log(`channel ${CHANNEL} has id ${channelId}`)
    // The list shows where it sends, never the URL's path or the secrets.
    const text = await page.locator(tid('channels-table')).innerText()
    if (text.includes('forest-hook') || text.includes(CHANNEL_SECRET) || text.includes('header-secret')) {
      throw new Error('the channel list shows a secret')
    }
  })

  await step('test-send the channel and see it at the receiver', async () => {
    const before = received.length
    await page.click(tid('channel-test', `[data-channel-name="${CHANNEL}"]`))
    const dialog = page.locator(tid('channel-test-result'))
    await until('the test result', async () => (await dialog.getAttribute('data-sent')) === 'true')
    const got = await until('the test message at the receiver', async () => received.slice(before).find((r) => r.path === '/forest-hook'))
    if (!/test/i.test(got.body)) throw new Error(`the test message reads: ${got.body.slice(0, 200)}`)
    if (got.headers['x-e2e'] !== 'header-secret') throw new Error('the channel\'s header did not arrive')
    if (!signatureOk(got, CHANNEL_SECRET)) throw new Error('the test message is not signed with the channel\'s secret')
    await shot('16-alarm-channel-test')
    await page.click(tid('channel-test-close'))
    await dialog.waitFor({ state: 'hidden' })
    await shot('17-alarm-channels')
  })

  await step('edit the channel keeping its secrets', async () => {
    await page.click(tid('channel-edit', `[data-channel-name="${CHANNEL}"]`))
    await page.locator(tid('channel-form')).waitFor()
    await page.locator(tid('channel-url-state')).waitFor()
    await page.locator(tid('channel-secret-state')).waitFor()
    // The stored values are not in the page: the inputs are not even there.
    if (await page.locator(tid('channel-url')).count()) throw new Error('the stored URL has an input')
    await fillInput('channel-template', '{{title}} ({{jobName}})')
    await shot('18-alarm-channel-form')
    await page.click(tid('channel-form-submit'))
    await page.locator(tid('channel-form')).waitFor({ state: 'hidden' })
    const before = received.length
    await page.click(tid('channel-test', `[data-channel-name="${CHANNEL}"]`))
    await until('the test result', async () => (await page.locator(tid('channel-test-result')).getAttribute('data-sent')) === 'true')
    const got = await until('the second test message', async () => received.slice(before).find((r) => r.path === '/forest-hook'))
    if (!signatureOk(got, CHANNEL_SECRET) || got.headers['x-e2e'] !== 'header-secret') throw new Error('the edit lost a secret')
    await page.click(tid('channel-test-close'))
  })

  await step('a failing job with an alarm rule onFailure to the channel', async () => {
    await nav('jobs')
    await page.click(tid('job-create'))
    await page.locator(tid('job-form')).waitFor()
    await fillInput('job-name', ALARM_JOB)
    await chooseInSelect('job-group', 'local')
    await fillInput('job-cron', '*/2 * * * * ?')
    await fillInput('job-target', 'false')
    await page.locator(tid('job-section-alarm')).locator('.el-collapse-item__header').click()
    await page.locator(tid('rule-inherit-note')).waitFor() // nothing set: inherits
    await pick('rule-onFailure', 'on')
    await pick('rule-channels-mode', 'set')
    await page.locator(tid('rule-channels')).click()
    await chooseOption(CHANNEL)
    await page.locator(tid('rule-summary')).click() // closes the dropdown
    await until('the rule without the inherit note', async () => (await page.locator(tid('rule-inherit-note')).count()) === 0)
    const summary = await page.locator(tid('rule-summary')).innerText()
    if (!summary.includes(CHANNEL)) throw new Error(`the rule's summary: ${summary}`)
    await shot('19-job-form-alarm')
    await page.click(tid('job-form-submit'))
    const row = page.locator(tid('job-row', `[data-job-name="${ALARM_JOB}"]`))
    await row.waitFor()
    alarmJobId = await row.getAttribute('data-job-id')
    await page.locator(tid('job-form')).waitFor({ state: 'hidden' })
    const stored = await (await page.context().request.get(`${BASE}/api/v1/jobs/${alarmJobId}`)).json()
    if (!sameJson(stored.alarm, { onFailure: true, channels: [channelId] })) {
      throw new Error(`the job's alarm rule is ${JSON.stringify(stored.alarm)}`)
    }
  })

  await step('see the alarm in the history and at the receiver', async () => {
    const alarmId = await until(
      'a failure alarm of the job delivered',
      async () => {
        await page.goto(`${BASE}/alarms/history?jobId=${alarmJobId}`)
        await page.locator(tid('alarms-table')).waitFor()
        await page.waitForLoadState('networkidle').catch(() => {})
        const row = page.locator(tid('alarm-row', '[data-kind="failed"]')).first()
        if (!(await row.count())) return null
        const sent = page.locator(tid('alarm-delivery', `[data-channel-id="${channelId}"][data-state="sent"]`))
        return (await sent.count()) ? row.getAttribute('data-alarm-id') : null
      },
      45000,
      1000,
    )
    const got = await until('the alarm at the receiver', async () =>
      received.find((r) => r.path === '/forest-hook' && r.body.includes(ALARM_JOB) && /fail/i.test(r.body)),
    )
    if (!signatureOk(got, CHANNEL_SECRET)) throw new Error('the alarm is not signed')
    await shot('20-alarm-history')
    await page.click(tid('alarm-open', `[data-alarm-id="${alarmId}"]`))
    await page.locator(tid('alarm-delivery-row', `[data-channel-id="${channelId}"][data-state="sent"]`)).waitFor()
    const message = await page.locator(tid('alarm-message')).innerText()
    if (!message.includes(ALARM_JOB)) throw new Error(`the alarm's message: ${message}`)
    if (!new URL(page.url()).searchParams.get('alarm')) throw new Error('the open alarm is not in the URL')
    await shot('21-alarm-drawer')
    await page.keyboard.press('Escape')
    await page.locator(tid('alarm-message')).waitFor({ state: 'hidden' })
  })

  await step('set and remove a group default rule', async () => {
    await navAlarms('rules')
    await page.click(tid('rule-group-edit', `[data-group-name="${GROUP}"]`))
    const drawer = page.locator(tid('rule-drawer'))
    await drawer.waitFor()
    await pick('rule-onTimeout', 'on', drawer)
    await pick('rule-onGroupEmpty', 'off', drawer)
    await page.click(tid('rule-submit'))
    await drawer.waitFor({ state: 'hidden' })
    await page.locator(tid('rule-group-row', `[data-group-name="${GROUP}"][data-has-rule="true"]`)).waitFor()
    const rules = await (await page.context().request.get(`${BASE}/api/v1/alarm-rules`)).json()
    if (!sameJson(rules.groups?.[GROUP], { onTimeout: true, onGroupEmpty: false })) {
      throw new Error(`the group's rule is ${JSON.stringify(rules.groups?.[GROUP])}`)
    }
    await shot('22-alarm-rules')
    await page.click(tid('rule-group-delete', `[data-group-name="${GROUP}"]`))
    await page.click(tid('confirm-ok'))
    await page.locator(tid('rule-group-row', `[data-group-name="${GROUP}"][data-has-rule="false"]`)).waitFor()
  })

  await step('remove the failing job and the channel', async () => {
    await page.goto(`${BASE}/jobs?q=${ALARM_JOB}`)
    await page.click(tid('job-delete', `[data-job-name="${ALARM_JOB}"]`))
    await page.click(tid('confirm-ok'))
    await page.locator(tid('job-row', `[data-job-name="${ALARM_JOB}"]`)).waitFor({ state: 'detached' })
    await navAlarms('channels')
    await page.click(tid('channel-delete', `[data-channel-name="${CHANNEL}"]`))
    await page.click(tid('confirm-ok'))
    await page.locator(tid('channel-row', `[data-channel-name="${CHANNEL}"]`)).waitFor({ state: 'detached' })
    await stopReceiver()
  })
}

async function main() {
  let browser
  let failed = null
  try {
    await step('start the forest server', async () => {
      BASE = args.url ? args.url.replace(/\/$/, '') : await startServer()
    })
    await step('launch Chromium', async () => {
      browser = await chromium.launch({
        executablePath: process.env.FOREST_CHROMIUM || '/usr/bin/chromium',
        headless: !args.headed,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
    })
    await scenario(browser)
  } catch (e) {
    failed = e
  } finally {
    await browser?.close().catch(() => {})
    await stopServer().catch((e) => log('stopping the server:', e.message))
    await stopReceiver().catch(() => {})
  }
  if (failed) {
    console.error(`e2e FAILED at "${currentStep}": ${failed.message}`)
    process.exit(1)
  }
  log(`all steps passed; screenshots in ${ARTIFACTS}`)
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await stopServer().catch(() => {})
    await stopReceiver().catch(() => {})
    process.exit(130)
  })
}

main()
