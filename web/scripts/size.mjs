#!/usr/bin/env node
// Prints the gzip size of the JavaScript a built UI loads at first (the
// entry script of index.html and its modulepreload links) and of all its
// JavaScript. Usage: node scripts/size.mjs <dist dir>
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'

const dir = resolve(process.argv[2] || 'dist')
const LIMIT_KB = 500

const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length
const kb = (n) => `${(n / 1024).toFixed(1)} KB`

let html
try {
  html = readFileSync(join(dir, 'index.html'), 'utf8')
} catch {
  console.error(`size: no index.html in ${dir} (build first: npm run build)`)
  process.exit(2)
}

const initial = new Set()
for (const m of html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g)) initial.add(m[1])
for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)) initial.add(m[1])

const local = (url) => join(dir, url.replace(/^\//, ''))
let initialBytes = 0
let initialRaw = 0
console.log('initial JavaScript (index.html: entry + modulepreload):')
for (const url of initial) {
  const file = local(url)
  const size = gz(file)
  initialBytes += size
  initialRaw += statSync(file).size
  console.log(`  ${url}  ${kb(statSync(file).size)}  gzip ${kb(size)}`)
}

function walk(d) {
  return readdirSync(d).flatMap((name) => {
    const p = join(d, name)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}
const all = walk(dir).filter((f) => f.endsWith('.js'))
const allBytes = all.reduce((n, f) => n + gz(f), 0)
const allRaw = all.reduce((n, f) => n + statSync(f).size, 0)

console.log(`initial JS: ${kb(initialRaw)}, gzip ${kb(initialBytes)} (${initial.size} files; limit ${LIMIT_KB} KB gzip)`)
console.log(`all JS:     ${kb(allRaw)}, gzip ${kb(allBytes)} (${all.length} files)`)
if (initialBytes > LIMIT_KB * 1024) {
  console.error(`size: the initial JavaScript is over ${LIMIT_KB} KB gzip`)
  process.exit(1)
}
