// Builds static/src into static/dist with a fixed esbuild configuration.
//
//   node build.mjs           write dist/ (committed: the app runs without Node)
//   node build.mjs --check   build into a temporary folder and fail if it
//                            differs from the committed dist/ (CI runs this)
//
// The output depends only on the sources and the locked package versions: no
// timestamps, no absolute paths, content-hashed chunk names, files in order.

import * as esbuild from 'esbuild'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const check = process.argv.includes('--check')
const dist = join(here, 'dist')
const outdir = check ? mkdtempSync(join(tmpdir(), 'carnet-dist-')) : dist

export const options = {
  absWorkingDir: here,
  entryPoints: {
    base: 'src/pages/base.js',
    home: 'src/pages/home.js',
    carnet: 'src/pages/carnet.js',
    note: 'src/pages/note.js',
    app: 'src/app.css',
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari15.4'],
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  charset: 'utf8',
  chunkNames: 'chunks/[name]-[hash]',
  entryNames: '[name]',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
}

function files (root) {
  const out = []
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else out.push(relative(root, path))
    }
  }
  walk(root)
  return out
}

function digest (root) {
  return new Map(files(root).map((name) => [name, createHash('sha256').update(readFileSync(join(root, name))).digest('hex')]))
}

if (!check) rmSync(dist, { recursive: true, force: true })
await esbuild.build(options)

if (check) {
  const built = digest(outdir)
  let committed
  try {
    committed = digest(dist)
  } catch {
    committed = new Map()
  }
  rmSync(outdir, { recursive: true, force: true })
  const differ = [...new Set([...built.keys(), ...committed.keys()])].sort()
    .filter((name) => built.get(name) !== committed.get(name))
  if (differ.length) {
    console.error('static/dist differs from what static/src builds; run `cd static && npm ci && npm run build` and commit dist/:')
    for (const name of differ) console.error(`  ${name}: ${committed.has(name) ? (built.has(name) ? 'changed' : 'not built any more') : 'missing'}`)
    process.exit(1)
  }
  console.log(`static/dist matches its sources (${built.size} files)`)
} else {
  console.log(`built ${files(dist).length} files into static/dist`)
}
