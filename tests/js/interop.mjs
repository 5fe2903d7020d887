// A standard Yjs client — unmodified `yjs` + `y-websocket`'s WebsocketProvider —
// driven by Carnet's Python tests (tests/sync/test_interop.py) over stdin/stdout.
//
// Usage: CARNET_TOKEN=<api token> node interop.mjs <ws base url> <note id> <name>
//   e.g. node interop.mjs ws://127.0.0.1:8000 AbCd1234 "Nadia (node)"
//
// The provider connects to `<ws base url>/ws/notes/<note id>` (the note id is
// the y-websocket room name) with `Authorization: Bearer <token>`; the token
// goes through a `ws` WebSocket subclass, since browsers' WebSocket cannot
// send headers. Presence: the awareness state `{user: {name, color}}`.
//
// Protocol: one JSON object per line. Commands on stdin carry an `id`; every
// answer on stdout repeats it. Unsolicited events have no id.
//   {"id", "cmd": "state"}                      -> {id, text, clientID, clock, presence: [names]}
//   {"id", "cmd": "edit", "seed", "count"}      -> count random edits of the Y.Text "text",
//                                                  one transaction each, yielding in between,
//                                                  then meta.node = count (see edit())
//   {"id", "cmd": "insert", "index", "text"}
//   {"id", "cmd": "wait_clock", "client", "clock"} -> once this doc holds client's clock
//   {"id", "cmd": "wait_presence", "name"}      -> once someone else's state has user.name
//   {"id", "cmd": "destroy"}                    -> provider.destroy(), then exit
// Events: {"event": "synced", ...state}, {"event": "closed", code, reason}.
import * as readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const [base, noteId, name] = process.argv.slice(2)
const token = process.env.CARNET_TOKEN
if (!base || !noteId || !name || !token) {
  console.error('usage: CARNET_TOKEN=... node interop.mjs <ws base url> <note id> <name>')
  process.exit(2)
}

class BearerWebSocket extends WebSocket {
  constructor (url, protocols) {
    super(url, protocols, { headers: { Authorization: `Bearer ${token}` } })
  }
}

const doc = new Y.Doc()
const text = doc.getText('text')
const provider = new WebsocketProvider(`${base}/ws/notes`, noteId, doc, {
  WebSocketPolyfill: BearerWebSocket,
  disableBc: true
})
provider.awareness.setLocalStateField('user', { name, color: '#30bced' })

const send = (message) => process.stdout.write(JSON.stringify(message) + '\n')

const presence = () =>
  Array.from(provider.awareness.getStates().entries())
    .filter(([client]) => client !== doc.clientID)
    .map(([, state]) => state?.user?.name)
    .filter(Boolean)

const state = () => ({
  text: text.toString(),
  clientID: doc.clientID,
  clock: Y.getState(doc.store, doc.clientID),
  presence: presence()
})

provider.on('sync', (synced) => {
  if (synced) send({ event: 'synced', ...state() })
})
provider.on('closed', ({ code, reason }) => send({ event: 'closed', code, reason }))

// A small seeded generator (mulberry32), so that a failing run can be replayed.
const random = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const WORDS = ['carnet ', 'note ', 'réunion ', 'atelier ', 'émoji 🎉 ', 'ß ', 'a', 'b', '\n']

// Yjs counts UTF-16 code units: never cut a surrogate pair in two (Yjs and
// pycrdt would then each replace the lone halves in their own way).
const inPair = (string, index) => {
  const code = string.charCodeAt(index)
  return code >= 0xdc00 && code <= 0xdfff
}

const edit = async (seed, count) => {
  const next = random(seed)
  for (let i = 0; i < count; i++) {
    const current = text.toString()
    const length = current.length
    if (length > 0 && next() < 0.3) {
      let index = Math.floor(next() * length)
      if (inPair(current, index)) index -= 1
      let end = Math.min(index + 1 + Math.floor(next() * 4), length)
      if (inPair(current, end)) end += 1
      text.delete(index, end - index)
    } else {
      const word = WORDS[Math.floor(next() * WORDS.length)]
      let index = Math.floor(next() * (length + 1))
      if (inPair(current, index)) index -= 1
      text.insert(index, word)
    }
    await new Promise((resolve) => setTimeout(resolve, next() < 0.5 ? 0 : 2))
  }
  // Deletions do not move the state vector: this last insertion does, and it
  // travels after them, so a peer holding our clock holds every edit above.
  doc.getMap('meta').set('node', count)
}

const until = (ready, emitter, event) =>
  new Promise((resolve) => {
    if (ready()) return resolve()
    const check = () => {
      if (ready()) {
        emitter.off(event, check)
        resolve()
      }
    }
    emitter.on(event, check)
  })

const handle = async (command) => {
  switch (command.cmd) {
    case 'state':
      return state()
    case 'edit':
      await edit(command.seed, command.count)
      return state()
    case 'insert':
      text.insert(command.index, command.text)
      return state()
    case 'wait_clock':
      await until(() => Y.getState(doc.store, command.client) >= command.clock, doc, 'update')
      return state()
    case 'wait_presence':
      await until(() => presence().includes(command.name), provider.awareness, 'change')
      return state()
    case 'destroy':
      provider.destroy()
      setTimeout(() => process.exit(0), 50)
      return state()
    default:
      throw new Error(`unknown command ${command.cmd}`)
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line)
  handle(command).then(
    (answer) => send({ id: command.id, ...answer }),
    (error) => send({ id: command.id, error: String(error) })
  )
})
