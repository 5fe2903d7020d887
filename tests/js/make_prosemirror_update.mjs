// Build a Tiptap/ProseMirror document in a real Yjs doc, exactly as the editor
// stores it (y-prosemirror), and print the Yjs update as base64 on stdout.
//
// Usage: node make_prosemirror_update.mjs [--overlapping-links] [doc.json]
//   The ProseMirror JSON document is read from the file, or from stdin.
//   --overlapping-links makes the link mark non-exclusive (excludes: ''), so
//   y-prosemirror stores it under a hashed attribute name ("link--<hash>").
//
// Run `npm ci` in this folder first. Needs no DOM: getSchema only builds a
// prosemirror-model Schema.
import { readFileSync } from 'node:fs'
import { getSchema } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Link from '@tiptap/extension-link'
import { prosemirrorJSONToYDoc } from 'y-prosemirror'
import * as Y from 'yjs'

const args = process.argv.slice(2)
const overlapping = args.includes('--overlapping-links')
const files = args.filter((a) => !a.startsWith('--'))
const input = readFileSync(files.length > 0 ? files[0] : 0, 'utf8')

// Tiptap 3's StarterKit already bundles Link; switch that copy off so the
// explicit Link below is the only one (no duplicate-extension warning).
const link = overlapping ? Link.extend({ excludes: '' }) : Link
const schema = getSchema([StarterKit.configure({ link: false }), link])
const ydoc = prosemirrorJSONToYDoc(schema, JSON.parse(input), 'default')
process.stdout.write(Buffer.from(Y.encodeStateAsUpdate(ydoc)).toString('base64'))
