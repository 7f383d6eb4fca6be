#!/usr/bin/env node
// The web UI's figures (issue 8's targets), against a real `forest server`
// serving the UI built into the binary, in Debian's headless Chromium:
//
//   1. initial JavaScript, gzip-compressed as the server sends it: the entry
//      script and its modulepreload links in index.html (target < 500 KB),
//      and all the JavaScript of the build for comparison;
//   2. first page interactive on loopback: from navigation to the login
//      form's button being usable, cold (a new browser profile each time)
//      and warm (reload), 7 runs each (target < 1 s);
//   3. the jobs page with 10,000 jobs (created through jobs:apply): time to
//      the first rows, to a search's rows, to the next page's rows, and the
//      longest main-thread task while doing so (responsiveness: a task over
//      200 ms is a visible stall).
//
//   node bench/web_bench.mjs [--forest build/release/apps/forest/forest] [--jobs 10000]
//
// Needs `npm ci` in web/ (playwright-core) and /usr/bin/chromium
// (scripts/install-deps.sh). Prints one line per figure; exits 1 if a step
// fails (never because of a figure).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { gunzipSync } from 'node:zlib'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { chromium } = createRequire(join(repo, 'web', 'package.json'))('playwright-core')

const { values: args } = parseArgs({
  options: {
    forest: { type: 'string', default: join(repo, 'build/release/apps/forest/forest') },
    jobs: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '7' },
  },
})
const JOBS = Number(args.jobs)
const RUNS = Number(args.runs)
const PASSWORD = 'bench-admin-pass-1'
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

const tid = (id) => `[data-testid="${id}"]`
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => res(port))
    })
    srv.on('error', rej)
  })
}

// GET with gzip accepted; answers the status and the bytes on the wire.
function wireGet(url) {
  return new Promise((res, rej) => {
    http.get(url, { headers: { 'Accept-Encoding': 'gzip' } }, (r) => {
      let bytes = 0
      const chunks = []
      r.on('data', (c) => { bytes += c.length; chunks.push(c) })
      r.on('end', () => res({ status: r.statusCode, bytes, body: Buffer.concat(chunks), headers: r.headers }))
    }).on('error', rej)
  })
}

async function main() {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const dataDir = mkdtempSync(join(tmpdir(), 'forest-web-bench-'))
  const server = spawn(args.forest, ['server', '--http-address', `127.0.0.1:${port}`,
    '--data-dir', dataDir, '--admin-password', PASSWORD, '--log-level', 'warn'],
  { stdio: ['ignore', 'ignore', 'inherit'] })
  let browser
  try {
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${base}/healthz`)).ok) break } catch {}
      if (i > 200) throw new Error('the server did not answer /healthz in 20 s')
      await new Promise((r) => setTimeout(r, 100))
    }

    // 1. Initial JavaScript.
    const home = await wireGet(`${base}/`)
    const index = (home.headers['content-encoding'] === 'gzip' ? gunzipSync(home.body) : home.body).toString()
    if (index.includes('-DFOREST_WEB=OFF')) throw new Error('this forest binary has no UI built in')
    const initial = new Set()
    for (const m of index.matchAll(/<script[^>]+src="([^"]+\.js)"/g)) initial.add(m[1])
    for (const m of index.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)) initial.add(m[1])
    for (const m of index.matchAll(/<link[^>]+href="([^"]+)"[^>]+rel="modulepreload"/g)) initial.add(m[1])
    let initialBytes = 0
    for (const path of initial) initialBytes += (await wireGet(base + path)).bytes
    console.log(`initial JavaScript (gzip, ${initial.size} files): ${kb(initialBytes)}  (target < 500 KB)`)

    // 2. First page interactive.
    browser = await chromium.launch({ executablePath: process.env.FOREST_CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS })
    const cold = []
    const warm = []
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext()
      const page = await context.newPage()
      let start = Date.now()
      await page.goto(`${base}/login`, { waitUntil: 'commit' })
      await page.locator(`${tid('login-submit')}:not([disabled])`).waitFor()
      await page.locator(tid('login-user')).click()
      cold.push(Date.now() - start)
      start = Date.now()
      await page.reload({ waitUntil: 'commit' })
      await page.locator(`${tid('login-submit')}:not([disabled])`).waitFor()
      warm.push(Date.now() - start)
      await context.close()
    }
    console.log(`first page interactive, cold: median ${median(cold)} ms, max ${Math.max(...cold)} ms; ` +
      `warm: median ${median(warm)} ms, max ${Math.max(...warm)} ms  (${RUNS} runs; target < 1000 ms)`)

    // 3. The jobs page with JOBS jobs.
    const login = await fetch(`${base}/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user: 'admin', password: PASSWORD }) })
    if (!login.ok) throw new Error(`login: ${login.status}`)
    const cookie = login.headers.get('set-cookie').split(';')[0]
    const { csrfToken } = await login.json()
    const token = await fetch(`${base}/api/v1/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: cookie, 'X-CSRF-Token': csrfToken }, body: JSON.stringify({ name: 'bench' }) })
    if (!token.ok) throw new Error(`token: ${token.status} ${await token.text()}`)
    const bearer = { Authorization: `Bearer ${(await token.json()).token}`, 'Content-Type': 'application/json' }
    const seeded = Date.now()
    for (const group of ['bench-a', 'bench-b']) {
      await fetch(`${base}/api/v1/groups`, { method: 'POST', headers: bearer, body: JSON.stringify({ name: group }) })
    }
    for (let from = 0; from < JOBS; from += 500) {
      const jobs = []
      for (let i = from; i < Math.min(JOBS, from + 500); i++) {
        jobs.push({ name: `job-${String(i).padStart(5, '0')}`, group: i % 2 ? 'bench-a' : 'bench-b', cron: `${i % 60} ${i % 60} * * * ?`, target: `https://127.0.0.1:9/run/${i}`, status: 2, tags: [i % 10 ? 'etl' : 'report'] })
      }
      const r = await fetch(`${base}/api/v1/jobs:apply`, { method: 'POST', headers: bearer, body: JSON.stringify({ jobs }) })
      if (!r.ok) throw new Error(`jobs:apply: ${r.status} ${await r.text()}`)
    }
    console.log(`seeded ${JOBS} jobs in ${((Date.now() - seeded) / 1000).toFixed(1)} s`)

    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${base}/login`)
    await page.fill(tid('login-user'), 'admin')
    await page.fill(tid('login-password'), PASSWORD)
    await page.click(tid('login-submit'))
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
    // Long tasks from here on (a PerformanceObserver in the page).
    const watchLongTasks = () => page.evaluate(() => {
      window.__longest = 0
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration)
      }).observe({ type: 'longtask', buffered: true })
    })
    const longest = () => page.evaluate(() => window.__longest)
    const firstRowName = () => page.locator(tid('job-row')).first().getAttribute('data-job-name')

    const figures = {}
    let start = Date.now()
    await page.goto(`${base}/jobs`)
    await page.locator(tid('job-row')).first().waitFor()
    figures.open = Date.now() - start
    start = Date.now()
    await page.goto(`${base}/jobs`)  // again: the page's chunks are cached now
    await page.locator(tid('job-row')).first().waitFor()
    figures.reopen = Date.now() - start
    await watchLongTasks()  // buffered: from this page load on

    const wanted = `job-0${String(Math.floor(JOBS * 0.73)).padStart(4, '0')}`
    start = Date.now()
    await page.fill(tid('jobs-search'), wanted)
    await page.waitForFunction(([sel, name]) => {
      const rows = document.querySelectorAll(sel)
      return rows.length === 1 && rows[0].getAttribute('data-job-name') === name
    }, [tid('job-row'), wanted])
    figures.search = Date.now() - start  // includes the input's debounce

    await page.fill(tid('jobs-search'), '')
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length > 1, tid('job-row'))
    const before = await firstRowName()
    start = Date.now()
    await page.locator(`${tid('jobs-pager')} .btn-next`).click()
    await page.waitForFunction(([sel, name]) => {
      const row = document.querySelector(sel)
      return row && row.getAttribute('data-job-name') !== name
    }, [tid('job-row'), before])
    figures.nextPage = Date.now() - start
    const rowsShown = await page.locator(tid('job-row')).count()
    figures.longTask = await longest()
    console.log(`jobs page, ${JOBS} jobs (${rowsShown} rows a page): first open ${figures.open} ms, ` +
      `open again ${figures.reopen} ms, search to its one row ${figures.search} ms (with the input's debounce), ` +
      `next page ${figures.nextPage} ms; longest main-thread task ${Math.round(figures.longTask)} ms`)
    await context.close()
  } finally {
    if (browser) await browser.close()
    server.kill('SIGTERM')
    await new Promise((r) => server.once('exit', r))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(`web_bench: ${e.message}`)
  process.exit(1)
})
