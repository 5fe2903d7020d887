// One note's live connection, and a save status that tells the truth.
//
// The y-websocket provider talks to /ws/notes/{id}. Carnet's server adds
// message type 100 (see server/carnet/sync/protocol.py):
//   100 0 varUint(count) varUint(seq)   Saved: `count` update frames of THIS
//                                       connection are committed in PostgreSQL
//   100 1 varUint(unsaved)              SaveDelayed: storage is down, retrying
//   100 2 varString(code) varString(detail)  Status: "read_only" / "writable"
//
// The socket class handed to the provider counts the update frames this
// connection sends (sync step 2 and update frames, except empty updates, which
// the server ignores too). "Enregistré" shows only when the doc is synced and
// the server's Saved.count equals that number; a new connection starts both at 0.
//
// y-indexeddb keeps the document in the browser, so edits made offline survive
// a closed tab: on the next visit they are loaded back, and the sync step 2
// answering the server's sync step 1 carries them up.
//
// Chromium keeps open WebSockets when the system (or a test) says "offline",
// and a dead network can take 30 s to notice. So "offline" events close the
// socket at once and "online" events reconnect: the status then shows
// "Hors ligne" exactly while nothing can reach the server.

import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as decoding from 'lib0/decoding'
import { t } from './i18n.js'

export const MESSAGE_AUTH = 2
export const MESSAGE_CARNET = 100
const CARNET_SAVED = 0
const CARNET_SAVE_DELAYED = 1
const CARNET_STATUS = 2

// Close codes after which reconnecting cannot help (server/carnet/sync/endpoint.py).
const FINAL_CLOSES = new Set([4400, 4401, 4403, 4404, 4413])

function readVarUint (bytes, pos) {
  let value = 0
  let factor = 1
  for (;;) {
    if (pos >= bytes.length) throw new RangeError('truncated')
    const byte = bytes[pos++]
    value += (byte & 0x7f) * factor
    if (byte < 0x80) return [value, pos]
    factor *= 128
    if (factor > 2 ** 56) throw new RangeError('too long')
  }
}

/** The server's rule (protocol.is_empty_update): no structs and no deleted ranges. */
export function isEmptyUpdate (update) {
  try {
    let pos = 0
    let groups
    ;[groups, pos] = readVarUint(update, pos)
    for (let i = 0; i < groups; i++) {
      let structs
      ;[structs, pos] = readVarUint(update, pos)
      if (structs) return false
      ;[, pos] = readVarUint(update, pos)
      ;[, pos] = readVarUint(update, pos)
    }
    let clients
    ;[clients, pos] = readVarUint(update, pos)
    for (let i = 0; i < clients; i++) {
      ;[, pos] = readVarUint(update, pos)
      let ranges
      ;[ranges, pos] = readVarUint(update, pos)
      if (ranges) return false
    }
    return pos === update.length
  } catch {
    return false
  }
}

/** True for a frame the server will store and acknowledge: [0, 1|2, non-empty update]. */
export function countsAsUpdate (frame) {
  try {
    const [type, afterType] = readVarUint(frame, 0)
    if (type !== 0) return false
    const [step, afterStep] = readVarUint(frame, afterType)
    if (step !== 1 && step !== 2) return false
    const [length, start] = readVarUint(frame, afterStep)
    return !isEmptyUpdate(frame.subarray(start, start + length))
  } catch {
    return false
  }
}

function socketClass (onSend) {
  return class CarnetSocket extends WebSocket {
    constructor (url, protocols) {
      super(url, protocols)
      this.sentUpdates = 0 // update frames sent on this connection
      this.savedUpdates = 0 // of which the server confirmed the commit
    }

    send (data) {
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data)
      const counted = countsAsUpdate(bytes)
      super.send(data)
      if (counted) {
        this.sentUpdates += 1
        onSend()
      }
    }
  }
}

/**
 * states: 'connecting' | 'offline' | 'saving' | 'delayed' | 'saved' |
 *         'readonly' | 'denied' | 'closed'
 */
export class NoteConnection {
  constructor ({ noteId, doc, editable = false, persist = false, viewOnly = false, onChange = () => {} }) {
    this.noteId = noteId
    this.doc = doc
    this.editable = editable
    this.onChange = onChange
    this.unsavedOnServer = 0
    this.denied = false
    this.closed = null
    this.persistent = false
    this.persistence = null
    this.started = false
    if (persist) {
      try {
        this.persistence = new IndexeddbPersistence(`carnet-note-${noteId}`, doc)
        this.persistent = true
      } catch {
        this.persistence = null
      }
    }
    const changed = () => this.changed()
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
    this.provider = new WebsocketProvider(`${scheme}://${location.host}/ws/notes`, noteId, doc, {
      connect: false,
      disableBc: true,
      params: viewOnly ? { mode: 'view' } : {},
      WebSocketPolyfill: socketClass(changed),
      // Ask the server for its state now and then: it heals anything missed,
      // and keeps a quiet viewer's connection from looking dead.
      resyncInterval: 20000,
      maxBackoffTime: 4000,
      shouldReconnect: (event) => !FINAL_CLOSES.has(event.code),
    })
    const provider = this.provider
    provider.messageHandlers[MESSAGE_CARNET] = (_encoder, decoder, provider) => {
      const kind = decoding.readVarUint(decoder)
      if (kind === CARNET_SAVED) {
        const count = decoding.readVarUint(decoder)
        decoding.readVarUint(decoder) // seq
        if (provider.ws) provider.ws.savedUpdates = count
        this.unsavedOnServer = 0
      } else if (kind === CARNET_SAVE_DELAYED) {
        this.unsavedOnServer = decoding.readVarUint(decoder)
      } else if (kind === CARNET_STATUS) {
        const code = decoding.readVarString(decoder)
        decoding.readVarString(decoder) // detail
        if (code === 'read_only') this.setEditable(false)
        else if (code === 'writable') this.setEditable(true)
        this.dispatch('status-code', code)
      }
      this.changed()
    }
    provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      decoding.readVarUint(decoder) // 0: permission denied
      decoding.readVarString(decoder)
      this.denied = true
      this.changed()
    }
    provider.on('status', changed)
    provider.on('sync', changed)
    provider.on('connection-close', changed)
    provider.on('closed', (event) => {
      this.closed = event
      this.changed()
    })
    this.listeners = new Map()
    this.goOffline = () => {
      provider.disconnect()
      this.changed()
    }
    this.goOnline = () => {
      if (!this.closed) provider.connect()
      this.changed()
    }
    window.addEventListener('offline', this.goOffline)
    window.addEventListener('online', this.goOnline)
  }

  /** Load what this device kept, then connect (unless the browser is offline). */
  async start () {
    if (this.persistence) {
      // A broken IndexedDB must not keep the note from opening.
      await Promise.race([
        this.persistence.whenSynced,
        new Promise((resolve) => setTimeout(resolve, 3000)),
      ])
    }
    this.started = true
    if (navigator.onLine) this.provider.connect()
    this.changed()
  }

  on (name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set())
    this.listeners.get(name).add(fn)
  }

  dispatch (name, value) {
    for (const fn of this.listeners.get(name) || []) fn(value)
  }

  setEditable (editable) {
    if (this.editable === editable) return
    this.editable = editable
    if (editable) this.denied = false
    this.dispatch('editable', editable)
  }

  changed () {
    this.onChange(this.state())
    this.dispatch('state', this.state())
  }

  /** What the status line should say, from facts only. */
  state () {
    const provider = this.provider
    if (this.closed) return 'closed'
    if (!provider.wsconnected) {
      if (!this.started) return 'connecting'
      const firstTry = provider.shouldConnect && navigator.onLine && provider.wsUnsuccessfulReconnects === 0
      return firstTry ? 'connecting' : 'offline'
    }
    if (this.denied) return 'denied'
    if (!this.editable) return 'readonly'
    const ws = provider.ws
    if (!provider.synced || !ws || ws.savedUpdates < ws.sentUpdates) {
      return this.unsavedOnServer ? 'delayed' : 'saving'
    }
    return 'saved'
  }

  label (state = this.state()) {
    switch (state) {
      case 'saved': return t('status.saved')
      case 'saving': return t('status.saving')
      case 'delayed': return t('status.delayed')
      case 'connecting': return t('status.connecting')
      case 'offline':
        if (!this.editable) return t('status.offlineReader')
        return t(this.persistent ? 'status.offline' : 'status.offlineVolatile')
      case 'readonly': return t('status.readonly')
      case 'denied': return t('status.denied')
      case 'closed': {
        const key = `close.${this.closed.code}`
        const reason = ['close.4401', 'close.4403', 'close.4404'].includes(key) ? t(key) : t('close.other')
        return t('status.closed', { reason })
      }
      default: return ''
    }
  }

  destroy () {
    window.removeEventListener('offline', this.goOffline)
    window.removeEventListener('online', this.goOnline)
    this.provider.destroy()
    if (this.persistence) this.persistence.destroy()
  }
}
