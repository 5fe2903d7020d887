// A carnet that grows live: the list of notes (pinned first, then the
// managers' order), filters, who writes where and how many read, live
// excerpts of the notes being written, and a projector mode that follows the
// most recently edited note.
//
// The list comes from the JSON API and is fetched again whenever the carnet's
// feed (/ws/carnets/{id}) says a note or the order changed. Excerpts come
// from read-only note sockets (?mode=view: the server counts them as readers,
// never as writers, and sends them merged updates a few times a second).

import * as Y from 'yjs'
import { NoteConnection } from '../sync.js'
import { renderBody, bodyText } from '../ytext.js'
import { api, debounce, fill, h, pageData, showError } from '../common.js'
import { formatAgo, singular, t } from '../i18n.js'

const data = pageData()
const carnet = data.carnet
const carnetUrl = `/api/carnets/${encodeURIComponent(carnet.id)}`
let notes = data.notes
const presence = new Map() // note id -> Map(process -> {editors, viewers, last_edit, at})
const PRESENCE_TTL = 15000 // a process repeats its presence every 5 s
const LIVE_NOTES = 3 // excerpts followed at once
const RECENT = 120 // seconds: a note edited this recently stays followed

// Controls -------------------------------------------------------------------------------------

const app = document.getElementById('carnet-app')
const filters = { q: '', category: '', type: '', status: '' }
const listError = h('p', { class: 'form-error', role: 'alert', hidden: true })
const liveState = h('p', { class: 'live-state', id: 'live-state', role: 'status' })
const countLine = h('p', { class: 'count', id: 'note-count' })
const list = h('ol', { class: 'note-list', id: 'notes', 'aria-labelledby': 'carnet-title' })
const empty = h('p', { class: 'empty', id: 'notes-empty', hidden: true })

function filterSelect (id, label, options, key) {
  const control = h('select', { id },
    options.map(([value, text]) => h('option', { value }, text)))
  control.addEventListener('change', () => { filters[key] = control.value; renderList() })
  return h('div', { class: 'field' }, h('label', { for: id }, label), control)
}
const search = h('input', { id: 'filter-title', type: 'search', autocomplete: 'off' })
search.addEventListener('input', debounce(() => { filters.q = search.value.trim().toLowerCase(); renderList() }, 150))

const filterForm = h('form', { class: 'filters', role: 'search', 'aria-label': t('carnet.filters'), onsubmit: (e) => e.preventDefault() },
  h('div', { class: 'field grow' }, h('label', { for: 'filter-title' }, t('carnet.filterTitle')), search),
  carnet.categories.length
    ? filterSelect('filter-category', t('carnet.category'), [['', t('carnet.allCategories')], ...carnet.categories.map((c) => [c, c])], 'category')
    : null,
  filterSelect('filter-type', t('details.type'), [['', t('carnet.allTypes')], ...['note', 'organisation', 'term'].map((v) => [v, t(`note.type.${v}`)])], 'type'),
  filterSelect('filter-status', t('carnet.status'), [['', t('carnet.allStatuses')], ...['draft', 'finalised', 'published'].map((v) => [v, t(`note.status.${v}`)])], 'status'))
// Folded on a phone, where the notes matter more than the filters.
const filterBar = h('details', { class: 'filters-box', open: matchMedia('(min-width: 801px)').matches },
  h('summary', {}, t('carnet.filters')), filterForm)

function newNoteForm () {
  if (!data.can_contribute) return null
  const title = h('input', { id: 'new-note-title', name: 'title', required: true, maxlength: 300, autocomplete: 'off', 'aria-describedby': 'new-note-hint' })
  const category = carnet.categories.length
    ? h('select', { id: 'new-note-category' }, h('option', { value: '' }, t('details.noCategory')), carnet.categories.map((c) => h('option', { value: c }, c)))
    : null
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const form = h('form', { class: 'card new-note', id: 'new-note', 'aria-labelledby': 'new-note-heading' },
    h('h2', { id: 'new-note-heading' }, t('carnet.newNote')),
    h('div', { class: 'row wrap' },
      h('div', { class: 'field grow' }, h('label', { for: 'new-note-title' }, t('carnet.noteTitle')), title),
      category ? h('div', { class: 'field' }, h('label', { for: 'new-note-category' }, t('carnet.category')), category) : null,
      h('button', { type: 'submit', class: 'primary' }, t('carnet.create'))),
    h('p', { class: 'hint', id: 'new-note-hint' }, t('carnet.noteTitleHint')),
    error)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const body = { title: title.value.trim() }
    if (category && category.value) body.category = category.value
    try {
      const made = await api('POST', `${carnetUrl}/notes`, body)
      location.assign(`/notes/${encodeURIComponent(made.id)}`)
    } catch (failure) {
      showError(error, failure)
    }
  })
  return form
}

function guide () {
  if (!carnet.writing_guide) return null
  return h('details', { class: 'guide' }, h('summary', {}, t('carnet.guide')), h('p', { class: 'guide-text' }, carnet.writing_guide))
}

function inviteBlock () {
  if (!data.can_arrange) return null
  const role = h('select', { id: 'invite-role' }, ['contributor', 'viewer', 'manager'].map((r) => h('option', { value: r }, t(`role.${r}`))))
  const output = h('input', { id: 'invite-link', readonly: true, hidden: true })
  const outputLabel = h('label', { for: 'invite-link', hidden: true }, t('carnet.inviteLink'))
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const make = h('button', {
    type: 'button',
    onclick: async () => {
      try {
        const made = await api('POST', `${carnetUrl}/invitations`, { role: role.value })
        output.value = made.url
        output.hidden = false
        outputLabel.hidden = false
        output.select()
      } catch (failure) { showError(error, failure) }
    },
  }, t('carnet.invite'))
  return h('details', { class: 'guide' }, h('summary', {}, t('carnet.members')),
    h('div', { class: 'row wrap' }, h('div', { class: 'field' }, h('label', { for: 'invite-role' }, t('carnet.inviteRole')), role), make),
    outputLabel, output, error)
}

const projectorButton = h('button', { type: 'button', id: 'projector-toggle', onclick: () => projector(true) }, t('carnet.projector'))

fill(app,
  h('div', { class: 'carnet-tools' }, liveState, projectorButton),
  guide(),
  inviteBlock(),
  newNoteForm(),
  filterBar,
  countLine,
  listError,
  empty,
  list)

// The list ------------------------------------------------------------------------------------------

const items = new Map() // note id -> {li, parts}

function matches (note) {
  if (filters.q && !note.title.toLowerCase().includes(filters.q)) return false
  if (filters.category && note.category !== filters.category) return false
  if (filters.type && note.type !== filters.type) return false
  if (filters.status && note.status !== filters.status) return false
  return true
}

function presenceOf (id) {
  const now = Date.now()
  const result = { editors: new Set(), viewers: 0, lastEdit: null }
  for (const entry of (presence.get(id) || new Map()).values()) {
    if (now - entry.at > PRESENCE_TTL) continue
    entry.editors.forEach((name) => result.editors.add(name))
    result.viewers += entry.viewers
    if (entry.last_edit && (!result.lastEdit || entry.last_edit > result.lastEdit)) result.lastEdit = entry.last_edit
  }
  return result
}

function itemFor (note) {
  let item = items.get(note.id)
  if (!item) {
    const parts = {
      title: h('a', { class: 'note-link' }),
      badges: h('span', { class: 'badges' }),
      authors: h('p', { class: 'meta authors' }),
      presence: h('p', { class: 'meta presence' }),
      excerpt: h('p', { class: 'excerpt', hidden: true }),
      tools: h('div', { class: 'arrange' }),
    }
    const li = h('li', { class: 'note-item', dataset: { noteId: note.id } },
      h('div', { class: 'note-item-head' }, parts.title, parts.badges),
      parts.authors, parts.presence, parts.excerpt, parts.tools)
    item = { li, parts }
    items.set(note.id, item)
    if (data.can_arrange) makeDraggable(li, note.id)
  }
  const { parts } = item
  parts.title.textContent = note.title
  parts.title.href = `/notes/${encodeURIComponent(note.id)}`
  fill(parts.badges,
    note.pinned ? h('span', { class: 'badge pinned' }, t('carnet.pinned')) : null,
    note.category ? h('span', { class: 'badge' }, note.category) : null,
    note.type !== 'note' ? h('span', { class: 'badge' }, t(`note.type.${note.type}`)) : null,
    h('span', { class: `badge status-${note.status}`, dataset: { status: note.status } }, t(`note.status.${note.status}`)))
  const names = note.authors.map((a) => a.name).join(', ')
  parts.authors.textContent = names ? t('carnet.authors', { names }) : ''
  if (data.can_arrange) fillArrange(parts.tools, note)
  showPresence(note.id)
  return item
}

function showPresence (id) {
  const item = items.get(id)
  if (!item) return
  const { editors, viewers, lastEdit } = presenceOf(id)
  const bits = []
  if (editors.size) {
    bits.push(h('span', { class: 'writing' }, t('carnet.writing', { names: [...editors].join(', ') })))
  }
  if (viewers) bits.push(h('span', { class: 'watching' }, t(singular(viewers) ? 'carnet.watching1' : 'carnet.watching', { n: viewers })))
  if (lastEdit) bits.push(h('span', { class: 'last-edit' }, t('carnet.lastEdit', { when: formatAgo(lastEdit) })))
  fill(item.parts.presence, bits)
  item.li.classList.toggle('live', editors.size > 0)
}

function renderList () {
  const shown = notes.filter(matches)
  const nodes = shown.map((note) => itemFor(note).li)
  const current = [...list.children]
  if (nodes.length !== current.length || nodes.some((node, i) => node !== current[i])) {
    list.replaceChildren(...nodes)
  }
  for (const id of [...items.keys()]) {
    if (!notes.some((note) => note.id === id)) items.delete(id)
  }
  countLine.textContent = t(singular(notes.length) ? 'carnet.count1' : 'carnet.count', { n: notes.length })
  empty.hidden = shown.length > 0
  empty.textContent = notes.length ? t('carnet.noMatch') : t('carnet.empty')
  followLive()
}

const reload = debounce(async () => {
  try {
    const page = await api('GET', `${carnetUrl}/notes?limit=200`)
    notes = page.items
    showError(listError, null)
    renderList()
  } catch (failure) {
    showError(listError, failure)
  }
}, 200)

// Arranging (managers) -----------------------------------------------------------------------------

async function saveOrder (ids) {
  const before = notes
  const byId = new Map(notes.map((n) => [n.id, n]))
  notes = ids.map((id) => byId.get(id))
  renderList()
  try {
    await api('PUT', `${carnetUrl}/order`, { note_ids: ids })
    liveState.textContent = t('carnet.orderSaved')
  } catch (failure) {
    notes = before
    renderList()
    showError(listError, failure)
  }
}

function move (id, step) {
  const ids = notes.map((n) => n.id)
  const from = ids.indexOf(id)
  const to = from + step
  if (from < 0 || to < 0 || to >= ids.length) return
  ids.splice(to, 0, ids.splice(from, 1)[0])
  saveOrder(ids).then(() => {
    const button = items.get(id)?.li.querySelector(step < 0 ? '.move-up' : '.move-down')
    button?.focus()
  })
}

function fillArrange (tools, note) {
  fill(tools,
    h('button', { type: 'button', class: 'icon-button move-up', 'aria-label': t('carnet.moveUp', { title: note.title }), onclick: () => move(note.id, -1) }, '↑'),
    h('button', { type: 'button', class: 'icon-button move-down', 'aria-label': t('carnet.moveDown', { title: note.title }), onclick: () => move(note.id, 1) }, '↓'),
    h('button', {
      type: 'button',
      class: 'link-button',
      onclick: async () => {
        try {
          await api('PATCH', `${carnetUrl}/notes/${encodeURIComponent(note.id)}`, { pinned: !note.pinned })
          reload()
        } catch (failure) { showError(listError, failure) }
      },
    }, note.pinned ? t('carnet.unpin') : t('carnet.pin')))
}

let dragged = null
function makeDraggable (li, id) {
  li.draggable = true
  li.addEventListener('dragstart', (event) => {
    dragged = id
    li.classList.add('dragging')
    event.dataTransfer.effectAllowed = 'move'
    event.dataTransfer.setData('text/plain', id)
  })
  li.addEventListener('dragend', () => { li.classList.remove('dragging'); dragged = null })
  li.addEventListener('dragover', (event) => {
    if (dragged && dragged !== id) {
      event.preventDefault()
      event.dataTransfer.dropEffect = 'move'
    }
  })
  li.addEventListener('drop', (event) => {
    event.preventDefault()
    if (!dragged || dragged === id) return
    const ids = notes.map((n) => n.id).filter((n) => n !== dragged)
    const rect = li.getBoundingClientRect()
    const after = event.clientY > rect.top + rect.height / 2
    ids.splice(ids.indexOf(id) + (after ? 1 : 0), 0, dragged)
    saveOrder(ids)
  })
}

// Live excerpts ---------------------------------------------------------------------------------------

const live = new Map() // note id -> {doc, connection, render}

function watch (id) {
  if (live.has(id)) return live.get(id)
  const doc = new Y.Doc()
  const connection = new NoteConnection({ noteId: id, doc, viewOnly: true })
  const entry = { doc, connection }
  const show = () => {
    const item = items.get(id)
    if (item) {
      const text = bodyText(doc)
      item.parts.excerpt.hidden = !text
      item.parts.excerpt.textContent = text.length > 280 ? '…' + text.slice(-280) : text
    }
    if (followed === id) showProjected()
  }
  let pending = false
  doc.on('update', () => {
    if (pending) return
    pending = true
    requestAnimationFrame(() => { pending = false; show() })
  })
  live.set(id, entry)
  connection.start()
  return entry
}

function unwatch (id) {
  const entry = live.get(id)
  if (!entry) return
  entry.connection.destroy()
  entry.doc.destroy()
  live.delete(id)
}

function followLive () {
  const now = Date.now() / 1000
  const visible = new Set(notes.map((n) => n.id))
  const active = notes
    .map((note) => ({ id: note.id, ...presenceOf(note.id) }))
    .filter((p) => p.editors.size || (p.lastEdit && now - p.lastEdit < RECENT))
    .sort((a, b) => (b.lastEdit || now) - (a.lastEdit || now))
    .slice(0, LIVE_NOTES)
    .map((p) => p.id)
  if (followed) active.push(followed)
  for (const id of active) if (visible.has(id)) watch(id)
  for (const id of [...live.keys()]) if (!active.includes(id)) unwatch(id)
}

// Projector mode ----------------------------------------------------------------------------------------

let followed = null
let projecting = false
const projectorTitle = h('h2', { class: 'projector-title', id: 'projector-title' })
const projectorBody = h('div', { class: 'projector-body', id: 'projector-body' })
const projectorExit = h('button', { type: 'button', class: 'projector-exit', onclick: () => projector(false) }, t('carnet.projectorExit'))
const projectorView = h('section', { class: 'projector', id: 'projector', hidden: true, 'aria-labelledby': 'projector-title' },
  h('div', { class: 'projector-bar' }, h('p', { class: 'eyebrow' }, carnet.title), projectorExit),
  projectorTitle, projectorBody)
document.body.append(projectorView)

function projector (on) {
  projecting = on
  projectorView.hidden = !on
  document.body.classList.toggle('projecting', on)
  const url = new URL(location.href)
  if (on) url.searchParams.set('projecteur', '1')
  else url.searchParams.delete('projecteur')
  history.replaceState(null, '', url)
  if (on) {
    chooseFollowed()
    projectorExit.focus()
  } else {
    followed = null
    followLive()
    projectorButton.focus()
  }
}

function chooseFollowed () {
  if (!projecting) return
  let best = null
  for (const note of notes) {
    const { lastEdit, editors } = presenceOf(note.id)
    const score = lastEdit || (editors.size ? 1 : 0)
    if (score && (!best || score > best.score)) best = { id: note.id, score }
  }
  const next = best ? best.id : followed
  if (next !== followed) {
    followed = next
    followLive()
  }
  showProjected()
}

function showProjected () {
  if (!projecting) return
  const note = notes.find((n) => n.id === followed)
  if (!note) {
    projectorTitle.textContent = t('carnet.projectorWaiting')
    fill(projectorBody)
    return
  }
  projectorTitle.textContent = note.title
  const entry = live.get(followed)
  fill(projectorBody, entry ? renderBody(entry.doc) : [])
  projectorBody.scrollTop = projectorBody.scrollHeight
}

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && projecting) projector(false)
})

// The feed ----------------------------------------------------------------------------------------------

let feedRetry = 0
function connectFeed () {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  const socket = new WebSocket(`${scheme}://${location.host}/ws/carnets/${encodeURIComponent(carnet.id)}`)
  socket.addEventListener('open', () => {
    feedRetry = 0
    liveState.textContent = t('carnet.live')
    liveState.dataset.state = 'live'
    reload() // anything missed while away
  })
  socket.addEventListener('message', (event) => {
    let message
    try { message = JSON.parse(event.data) } catch { return }
    if (message.type === 'note' || message.type === 'order') {
      reload()
    } else if (message.type === 'presence') {
      if (!presence.has(message.note_id)) presence.set(message.note_id, new Map())
      presence.get(message.note_id).set(message.process, { ...message, at: Date.now() })
      showPresence(message.note_id)
      followLive()
      chooseFollowed()
    }
  })
  socket.addEventListener('close', (event) => {
    liveState.textContent = t('carnet.liveLost')
    liveState.dataset.state = 'lost'
    if (event.code === 4404) return
    feedRetry += 1
    setTimeout(connectFeed, Math.min(10000, 250 * 2 ** feedRetry))
  })
}

// Presence ages out (a closed tab, a dead process): look again every few seconds.
setInterval(() => {
  for (const id of items.keys()) showPresence(id)
  followLive()
  chooseFollowed()
}, 5000)

renderList()
connectFeed()
if (new URLSearchParams(location.search).get('projecteur') === '1') projector(true)

window.carnet = { live, presence }
