// The note editor: Tiptap over a Yjs document shared through /ws/notes/{id},
// co-authors' carets, a save status that tells the truth, and side panels for
// details, history and discussion, all through the JSON API.

import * as Y from 'yjs'
import { Editor } from '@tiptap/core'
import StarterKit from '@tiptap/starter-kit'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { NoteConnection } from '../sync.js'
import { api, colourFor, confirmDialog, debounce, fill, h, initials, pageData, showError } from '../common.js'
import { formatDateTime, t } from '../i18n.js'

const data = pageData()
let note = data.note
const user = data.user
const me = user
  ? { name: user.name, color: colourFor(user.id) }
  : { name: t('anonymous'), color: '#37474f' }
const noteUrl = `/api/notes/${encodeURIComponent(note.id)}`

// The live document ---------------------------------------------------------------

const doc = new Y.Doc()
const connection = new NoteConnection({
  noteId: note.id,
  doc,
  editable: data.can_edit,
  // Only people who may write keep a copy on the device (their unsent edits).
  persist: data.may_edit,
})

// Layout -----------------------------------------------------------------------------

const root = document.getElementById('note-app')
const statusLine = h('p', { class: 'save-status', id: 'save-status', role: 'status', 'aria-live': 'polite' })
const avatars = h('ul', { class: 'avatars', id: 'avatars', 'aria-label': t('note.here') })
const statusBadge = h('span', { class: 'badge note-status', id: 'note-status' })
const actions = h('div', { class: 'note-actions', id: 'note-actions' })
const titleHeading = h('h1', { class: 'visually-hidden', id: 'note-heading' }, note.title)
// A textarea, so that a long title wraps on a phone; Enter goes to the text.
const titleInput = h('textarea', {
  id: 'note-title',
  class: 'note-title',
  rows: 1,
  maxlength: 300,
  'aria-label': t('note.title'),
  autocomplete: 'off',
  spellcheck: 'true',
})
titleInput.value = note.title
function fitTitle () {
  titleInput.style.height = 'auto'
  titleInput.style.height = `${titleInput.scrollHeight}px`
}
titleInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') {
    event.preventDefault()
    editor.commands.focus('start')
  }
})
window.addEventListener('resize', fitTitle)
const titleError = h('p', { class: 'form-error', role: 'alert', hidden: true })
const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': t('tool.label'), 'aria-controls': 'note-body' })
const editorMount = h('div', { class: 'editor-mount' })
const breadcrumbs = h('p', { class: 'eyebrow' },
  note.carnets.map((place, i) => [
    i ? ' · ' : '',
    h('a', { href: `/carnets/${encodeURIComponent(place.carnet_id)}` }, place.carnet_title),
  ]))

const tabs = [
  ['details', t('tab.details')],
  ['history', t('tab.history')],
  ['discussion', t('tab.discussion')],
]
const tabButtons = tabs.map(([id, label], i) => h('button', {
  type: 'button',
  role: 'tab',
  id: `tab-${id}`,
  'aria-controls': `panel-${id}`,
  'aria-selected': i === 0 ? 'true' : 'false',
  tabindex: i === 0 ? '0' : '-1',
  class: 'tab',
}, label))
const panels = Object.fromEntries(tabs.map(([id], i) => [id, h('section', {
  role: 'tabpanel',
  id: `panel-${id}`,
  class: 'panel',
  'aria-labelledby': `tab-${id}`,
  tabindex: '0',
  hidden: i !== 0,
})]))

fill(root,
  h('div', { class: 'note-head' },
    breadcrumbs,
    titleHeading,
    titleInput,
    titleError,
    h('div', { class: 'note-meta' }, statusBadge, statusLine, avatars),
    actions),
  h('div', { class: 'note-layout' },
    h('div', { class: 'editor-column' }, toolbar, editorMount),
    h('aside', { class: 'side', 'aria-label': t('panels.label') },
      h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('panels.label') }, tabButtons),
      Object.values(panels))))

// The editor ---------------------------------------------------------------------------

const editor = new Editor({
  element: editorMount,
  injectCSS: false,
  editable: connection.editable,
  extensions: [
    StarterKit.configure({
      undoRedo: false, // Collaboration brings its own undo, per person
      heading: { levels: [2, 3] },
      link: { openOnClick: false, autolink: true, protocols: ['http', 'https', 'mailto'] },
    }),
    Collaboration.configure({ document: doc, field: 'default' }),
    CollaborationCaret.configure({ provider: connection.provider, user: me }),
  ],
  editorProps: {
    attributes: {
      id: 'note-body',
      class: 'note-body',
      role: 'textbox',
      'aria-multiline': 'true',
      'aria-label': t('note.body'),
      spellcheck: 'true',
      lang: document.documentElement.lang,
    },
  },
})

function applyEditable () {
  const editable = connection.editable
  editor.setEditable(editable)
  editor.view.dom.setAttribute('aria-readonly', editable ? 'false' : 'true')
  toolbar.hidden = !editable
  titleInput.readOnly = !editable
  document.body.classList.toggle('read-only', !editable)
}

connection.on('editable', applyEditable)
connection.on('status-code', (code) => {
  // "writable" goes to everyone in the room; only people who may write write.
  if (code === 'writable' && !data.may_edit) connection.setEditable(false)
  refreshNote()
})

function showStatus () {
  const state = connection.state()
  statusLine.dataset.state = state
  statusLine.textContent = connection.label(state)
}
connection.on('state', showStatus)

// Who is here: one avatar per person (a person may have several tabs open).
function showAvatars () {
  const people = new Map()
  for (const [clientId, state] of connection.provider.awareness.getStates()) {
    if (!state || !state.user || !state.user.name) continue
    const mine = clientId === doc.clientID
    const key = mine ? 'me' : `${state.user.name}|${state.user.color}`
    if (!people.has(key)) people.set(key, { ...state.user, mine })
  }
  fill(avatars, [...people.values()].map((person) => {
    const label = person.mine ? `${person.name} (${t('note.you')})` : person.name
    const badge = h('span', { class: 'avatar', title: label, 'aria-hidden': 'true' }, initials(person.name))
    badge.style.backgroundColor = person.color
    return h('li', { class: 'avatar-item' }, badge, h('span', { class: 'visually-hidden' }, label))
  }))
}
connection.provider.awareness.on('change', showAvatars)

// Toolbar ---------------------------------------------------------------------------

function linkIcon () {
  const ns = 'http://www.w3.org/2000/svg'
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('width', '20')
  svg.setAttribute('height', '20')
  svg.setAttribute('fill', 'none')
  svg.setAttribute('stroke', 'currentColor')
  svg.setAttribute('stroke-width', '2.2')
  svg.setAttribute('stroke-linecap', 'round')
  for (const d of ['M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7', 'M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7']) {
    const path = document.createElementNS(ns, 'path')
    path.setAttribute('d', d)
    svg.append(path)
  }
  return svg
}

const TOOLS = [
  ['h2', 'H2', (c) => c.toggleHeading({ level: 2 }), (e) => e.isActive('heading', { level: 2 })],
  ['h3', 'H3', (c) => c.toggleHeading({ level: 3 }), (e) => e.isActive('heading', { level: 3 })],
  ['bold', 'G', (c) => c.toggleBold(), (e) => e.isActive('bold')],
  ['italic', 'I', (c) => c.toggleItalic(), (e) => e.isActive('italic')],
  ['bullet', '•', (c) => c.toggleBulletList(), (e) => e.isActive('bulletList')],
  ['ordered', '1.', (c) => c.toggleOrderedList(), (e) => e.isActive('orderedList')],
  ['quote', '«»', (c) => c.toggleBlockquote(), (e) => e.isActive('blockquote')],
  ['link', linkIcon(), null, (e) => e.isActive('link')],
  ['undo', '↶', (c) => c.undo(), null],
  ['redo', '↷', (c) => c.redo(), null],
]
const toolButtons = TOOLS.map(([id, glyph, run, active]) => {
  // The glyph is decoration; the name is the hidden text (no aria-label, so
  // what is read and what is shown never disagree).
  const button = h('button', {
    type: 'button',
    class: `tool tool-${id}`,
    title: t(`tool.${id}`),
    'aria-pressed': active ? 'false' : null,
    tabindex: id === 'h2' ? '0' : '-1',
  }, h('span', { 'aria-hidden': 'true' }, glyph), h('span', { class: 'visually-hidden' }, t(`tool.${id}`)))
  button.addEventListener('click', () => {
    if (id === 'link') editLink()
    else run(editor.chain().focus()).run()
  })
  return { button, active }
})
fill(toolbar, toolButtons.map((tool) => tool.button))
// Roving focus: arrows move between tools, Tab leaves the toolbar.
toolbar.addEventListener('keydown', (event) => {
  const buttons = toolButtons.map((tool) => tool.button)
  const index = buttons.indexOf(document.activeElement)
  if (index < 0) return
  let next = null
  if (event.key === 'ArrowRight') next = (index + 1) % buttons.length
  if (event.key === 'ArrowLeft') next = (index - 1 + buttons.length) % buttons.length
  if (event.key === 'Home') next = 0
  if (event.key === 'End') next = buttons.length - 1
  if (next === null) return
  event.preventDefault()
  buttons[index].tabIndex = -1
  buttons[next].tabIndex = 0
  buttons[next].focus()
})
function showActiveTools () {
  for (const { button, active } of toolButtons) {
    if (active) button.setAttribute('aria-pressed', active(editor) ? 'true' : 'false')
  }
}
editor.on('transaction', showActiveTools)

function editLink () {
  const current = editor.getAttributes('link').href || ''
  const input = h('input', { id: 'link-url', type: 'url', value: current, placeholder: 'https://', autocomplete: 'off' })
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const remove = current
    ? h('button', { type: 'button', class: 'danger' }, t('link.remove'))
    : null
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'link-title' },
    h('form', { method: 'dialog', class: 'stack' },
      h('h2', { id: 'link-title' }, t('link.title')),
      h('label', { for: 'link-url' }, t('link.url')),
      input,
      error,
      h('div', { class: 'actions' },
        remove,
        h('button', { type: 'button', value: 'cancel', onclick: () => dialog.close() }, t('dialog.cancel')),
        h('button', { type: 'submit', class: 'primary', value: 'ok' }, t('dialog.ok')))))
  dialog.querySelector('form').addEventListener('submit', (event) => {
    const href = input.value.trim()
    if (!/^(https?:\/\/|mailto:)\S+$/i.test(href)) {
      event.preventDefault()
      showError(error, new Error(t('link.invalid')))
      return
    }
    const chain = editor.chain().focus().extendMarkRange('link')
    if (editor.state.selection.empty && !current) {
      chain.insertContent({ type: 'text', text: href, marks: [{ type: 'link', attrs: { href } }] }).run()
    } else {
      chain.setLink({ href }).run()
    }
  })
  if (remove) {
    remove.addEventListener('click', () => {
      editor.chain().focus().extendMarkRange('link').unsetLink().run()
      dialog.close()
    })
  }
  dialog.addEventListener('close', () => dialog.remove())
  document.body.append(dialog)
  dialog.showModal()
  input.focus()
}

// Title ------------------------------------------------------------------------------

const saveTitle = debounce(async () => {
  const title = titleInput.value.trim()
  if (!title || title === note.title) return
  try {
    note = await api('PATCH', noteUrl, { title })
    titleHeading.textContent = note.title
    document.title = `${note.title} · Carnet`
    showError(titleError, null)
  } catch (error) {
    showError(titleError, error)
  }
}, 700)
titleInput.addEventListener('input', () => {
  titleInput.value = titleInput.value.replace(/\s*\n\s*/g, ' ')
  fitTitle()
  saveTitle()
})

// Status and the buttons that change it -------------------------------------------------

const TRANSITIONS = {
  finalise: ['note.finalise', 'note.confirmFinalise'],
  publish: ['note.publish', 'note.confirmPublish'],
  reopen: ['note.reopen', 'note.confirmReopen'],
  unpublish: ['note.unpublish', 'note.confirmUnpublish'],
}
const AVAILABLE = {
  draft: ['finalise', 'publish'],
  finalised: ['publish', 'reopen'],
  published: ['unpublish'],
}

function showNote () {
  statusBadge.textContent = t(`note.status.${note.status}`)
  statusBadge.dataset.status = note.status
  if (document.activeElement !== titleInput) {
    titleInput.value = note.title
    fitTitle()
  }
  titleHeading.textContent = note.title
  const buttons = []
  if (note.status === 'published') {
    buttons.push(h('a', { class: 'button', id: 'published-link', href: `/n/${encodeURIComponent(note.id)}` }, t('note.viewPublished')))
  }
  if (data.can_transition) {
    for (const name of AVAILABLE[note.status] || []) {
      const [label, question] = TRANSITIONS[name]
      buttons.push(h('button', {
        type: 'button',
        class: name === 'publish' || name === 'finalise' ? 'primary' : '',
        'data-action': name,
        onclick: async () => {
          if (!(await confirmDialog(t(question), { confirmLabel: t(label) }))) return
          try {
            note = await api('POST', `${noteUrl}/${name}`)
            connection.setEditable(note.status === 'draft' && data.may_edit)
            showNote()
            if (panels.history.dataset.loaded) loadHistory()
          } catch (error) {
            showError(actionError, error)
          }
        },
      }, t(label)))
    }
  }
  fill(actions, buttons, actionError)
  if (panels.details.dataset.loaded) showDates()
}
const actionError = h('p', { class: 'form-error', role: 'alert', hidden: true })

async function refreshNote () {
  try {
    note = await api('GET', noteUrl)
    showNote()
  } catch {}
}

// Tabs --------------------------------------------------------------------------------

const loaders = { details: loadDetails, history: loadHistory, discussion: loadDiscussion }
function selectTab (index, focus = true) {
  tabButtons.forEach((button, i) => {
    const selected = i === index
    button.setAttribute('aria-selected', selected ? 'true' : 'false')
    button.tabIndex = selected ? 0 : -1
    const id = tabs[i][0]
    panels[id].hidden = !selected
    if (selected && !panels[id].dataset.loaded) {
      panels[id].dataset.loaded = '1'
      loaders[id]()
    }
  })
  if (focus) tabButtons[index].focus()
}
tabButtons.forEach((button, i) => {
  button.addEventListener('click', () => selectTab(i))
  button.addEventListener('keydown', (event) => {
    const moves = { ArrowRight: 1, ArrowLeft: -1 }
    if (event.key in moves) {
      event.preventDefault()
      selectTab((i + moves[event.key] + tabs.length) % tabs.length)
    }
  })
})

// Details -------------------------------------------------------------------------------

const datesList = h('ul', { class: 'plain dates' })
function showDates () {
  const rows = [['details.created', note.created_at], ['details.updated', note.updated_at],
    ['details.finalised', note.finalised_at], ['details.published', note.published_at]]
  fill(datesList, rows.filter(([, when]) => when).map(([key, when]) =>
    h('li', {}, t(key, { date: formatDateTime(when) }))))
}

function field (id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control)
}

function select (id, options, value, onchange, disabled) {
  const control = h('select', { id, disabled: !!disabled },
    options.map(([optionValue, label]) => h('option', { value: optionValue, selected: optionValue === value }, label)))
  control.addEventListener('change', () => onchange(control.value))
  return control
}

function loadDetails () {
  const panel = panels.details
  const editable = data.may_edit
  const message = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const saved = h('p', { class: 'hint', role: 'status' })
  const patch = async (fields) => {
    try {
      note = await api('PATCH', noteUrl, fields)
      showError(message, null)
      saved.textContent = t('details.saved')
      setTimeout(() => { saved.textContent = '' }, 2000)
      showNote()
    } catch (error) {
      showError(message, error)
    }
  }
  const categories = data.carnets.map((place) => {
    const id = `category-${place.id}`
    const options = [['', t('details.noCategory')], ...place.categories.map((c) => [c, c])]
    if (place.category && !place.categories.includes(place.category)) options.push([place.category, place.category])
    return field(id, t('details.category', { carnet: place.title }), select(id, options, place.category || '', async (value) => {
      try {
        await api('PATCH', `/api/carnets/${encodeURIComponent(place.id)}/notes/${encodeURIComponent(note.id)}`, { category: value || null })
        place.category = value || null
        showError(message, null)
        saved.textContent = t('details.saved')
      } catch (error) {
        showError(message, error)
      }
    }, !editable))
  })
  const licences = ['CC-BY-4.0', 'CC-BY-SA-4.0', 'CC-BY-NC-4.0', 'CC-BY-NC-SA-4.0', 'CC0-1.0']
  if (!licences.includes(note.licence)) licences.push(note.licence)
  fill(panel,
    h('div', { class: 'stack' },
      field('detail-type', t('details.type'), select('detail-type',
        ['note', 'organisation', 'term'].map((v) => [v, t(`note.type.${v}`)]), note.type, (type) => patch({ type }), !editable)),
      field('detail-visibility', t('details.visibility'), select('detail-visibility',
        [['public', t('details.public')], ['private', t('details.private')]], note.visibility, (visibility) => patch({ visibility }), !editable)),
      field('detail-licence', t('details.licence'), select('detail-licence',
        licences.map((l) => [l, l]), note.licence, (licence) => patch({ licence }), !editable)),
      categories,
      message,
      saved,
      h('h2', { class: 'panel-title' }, t('details.authors')),
      authorsBlock(),
      h('h2', { class: 'panel-title' }, t('details.links')),
      linksBlock(),
      h('h2', { class: 'panel-title' }, t('details.dates')),
      datesList))
  showDates()
}

function authorsBlock () {
  const list = h('ul', { class: 'plain authors', id: 'authors' })
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const show = () => fill(list, note.authors.map((person) => h('li', {},
    person.name,
    data.can_manage_authors && note.authors.length > 1
      ? h('button', {
        type: 'button',
        class: 'icon-button',
        'aria-label': t('details.removeAuthor', { name: person.name }),
        onclick: async () => {
          try {
            note = await api('PUT', `${noteUrl}/authors`, { user_ids: note.authors.filter((a) => a.id !== person.id).map((a) => a.id) })
            show()
          } catch (failure) { showError(error, failure) }
        },
      }, '×')
      : null)))
  show()
  if (!data.can_manage_authors) return list
  const input = h('input', { id: 'author-email', type: 'email', autocomplete: 'off' })
  const form = h('form', { class: 'inline' },
    h('label', { for: 'author-email' }, t('details.addAuthor')),
    h('div', { class: 'row' }, input, h('button', { type: 'submit' }, t('details.addAuthorButton'))))
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    try {
      note = await api('POST', `${noteUrl}/authors`, { email: input.value.trim() })
      input.value = ''
      showError(error, null)
      show()
    } catch (failure) { showError(error, failure) }
  })
  return [list, form, error]
}

function linksBlock () {
  const list = h('ul', { class: 'plain links', id: 'links' })
  const backlinks = h('ul', { class: 'plain links', id: 'backlinks' })
  const backTitle = h('h3', { class: 'panel-subtitle', hidden: true }, t('details.backlinks'))
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const noteLink = (link) => h('a', { href: `/notes/${encodeURIComponent(link.note_id)}` }, link.title)
  const load = async () => {
    try {
      const found = await api('GET', `${noteUrl}/links`)
      fill(list, found.links.length
        ? found.links.map((link) => h('li', {},
          h('span', { class: 'badge' }, t(`details.kind.${link.kind}`)), ' ', noteLink(link),
          data.can_edit
            ? h('button', {
              type: 'button',
              class: 'icon-button',
              'aria-label': t('details.removeLink', { title: link.title }),
              onclick: async () => {
                try {
                  await api('DELETE', `${noteUrl}/links/${link.kind}/${encodeURIComponent(link.note_id)}`)
                  load()
                } catch (failure) { showError(error, failure) }
              },
            }, '×')
            : null))
        : h('li', { class: 'hint' }, t('details.noLinks')))
      backTitle.hidden = !found.backlinks.length
      fill(backlinks, found.backlinks.map((link) => h('li', {}, noteLink(link))))
    } catch (failure) { showError(error, failure) }
  }
  load()
  if (!data.can_edit) return [list, backTitle, backlinks, error]
  // Search as you type, in the carnets this note belongs to.
  const kind = select('link-kind', ['related', 'organisation', 'term'].map((k) => [k, t(`details.kind.${k}`)]), 'related', () => search())
  const input = h('input', {
    id: 'link-search',
    type: 'search',
    autocomplete: 'off',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': 'link-results',
    'aria-describedby': 'link-search-hint',
  })
  const results = h('ul', { id: 'link-results', class: 'plain results', role: 'listbox', 'aria-label': t('details.search') })
  const choose = async (target) => {
    try {
      await api('POST', `${noteUrl}/links`, { target_id: target.id, kind: kind.value })
      input.value = ''
      fill(results)
      input.setAttribute('aria-expanded', 'false')
      load()
    } catch (failure) { showError(error, failure) }
  }
  let generation = 0
  const search = debounce(async () => {
    const query = input.value.trim()
    const mine = ++generation
    if (query.length < 2) {
      fill(results)
      input.setAttribute('aria-expanded', 'false')
      return
    }
    const type = { related: '', organisation: 'organisation', term: 'term' }[kind.value]
    const found = new Map()
    for (const place of data.carnets) {
      const params = new URLSearchParams({ q: query, limit: '10' })
      if (type) params.set('type', type)
      try {
        const page = await api('GET', `/api/carnets/${encodeURIComponent(place.id)}/notes?${params}`)
        for (const item of page.items) if (item.id !== note.id) found.set(item.id, item)
      } catch {}
    }
    if (mine !== generation) return
    const items = [...found.values()]
    fill(results, items.length
      ? items.map((item) => h('li', { role: 'option', 'aria-selected': 'false' },
        h('button', { type: 'button', class: 'result', onclick: () => choose(item) },
          item.title, ' ', h('span', { class: 'badge' }, t(`note.type.${item.type}`)))))
      : h('li', { class: 'hint', role: 'option', 'aria-selected': 'false', 'aria-disabled': 'true' }, t('details.noResult')))
    input.setAttribute('aria-expanded', 'true')
  }, 250)
  input.addEventListener('input', search)
  return [
    list,
    h('div', { class: 'link-search' },
      field('link-kind', t('details.linkKind'), kind),
      h('label', { for: 'link-search' }, t('details.search')),
      input,
      h('p', { id: 'link-search-hint', class: 'hint' }, t('details.searchHint')),
      results),
    backTitle,
    backlinks,
    error,
  ]
}

// History ----------------------------------------------------------------------------------

const REASONS = ['manual', 'finalise', 'publish', 'restore', 'auto']
async function loadHistory () {
  const panel = panels.history
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const list = h('ol', { class: 'plain revisions', id: 'revisions' })
  const view = h('div', { class: 'revision-view', id: 'revision-view', hidden: true, tabindex: '-1' })
  const mark = data.can_edit || data.may_edit
    ? h('button', {
      type: 'button',
      id: 'mark-version',
      onclick: async () => {
        try {
          await api('POST', `${noteUrl}/revisions`)
          loadHistory()
        } catch (failure) { showError(error, failure) }
      },
    }, t('history.mark'))
    : null
  fill(panel, h('div', { class: 'stack' }, mark, error, list, view))
  const close = () => { view.hidden = true; fill(view) }
  const showView = (title, body) => {
    fill(view, h('div', { class: 'row spread' }, h('h3', {}, title),
      h('button', { type: 'button', class: 'icon-button', 'aria-label': t('history.close'), onclick: close }, '×')), body)
    view.hidden = false
    view.focus()
  }
  try {
    const page = await api('GET', `${noteUrl}/revisions?limit=50`)
    fill(list, page.items.length ? page.items.map((revision) => {
      const reason = REASONS.includes(revision.reason) ? revision.reason : 'other'
      const names = revision.contributors.map((p) => p.name).join(', ')
      const base = `${noteUrl}/revisions/${encodeURIComponent(revision.id)}`
      return h('li', { class: 'revision', 'data-revision': revision.id },
        h('p', {}, h('strong', {}, t(`history.reason.${reason}`)), ' · ', formatDateTime(revision.created_at)),
        names ? h('p', { class: 'hint' }, t('history.by', { names })) : null,
        h('div', { class: 'row' },
          h('button', {
            type: 'button',
            onclick: async () => {
              try {
                const text = await api('GET', `${base}?format=text`)
                showView(t('history.previewTitle'), h('div', { class: 'revision-text' }, text))
              } catch (failure) { showError(error, failure) }
            },
          }, t('history.preview')),
          h('button', {
            type: 'button',
            onclick: async () => {
              try {
                const changes = await api('GET', `${base}/diff`)
                showView(t('history.diffTitle'), h('div', { class: 'revision-text diff' },
                  changes.map((change) => change.op === 'insert'
                    ? h('ins', {}, change.text)
                    : change.op === 'delete' ? h('del', {}, change.text) : change.text)))
              } catch (failure) { showError(error, failure) }
            },
          }, t('history.diff')),
          connection.editable
            ? h('button', {
              type: 'button',
              class: 'restore',
              onclick: async () => {
                if (!(await confirmDialog(t('history.confirmRestore'), { confirmLabel: t('history.restore') }))) return
                try {
                  await api('POST', `${base}/restore`)
                  showError(error, null)
                  loadHistory()
                } catch (failure) { showError(error, failure) }
              },
            }, t('history.restore'))
            : null))
    }) : h('li', { class: 'hint' }, t('history.empty')))
  } catch (failure) {
    showError(error, failure)
  }
}

// Discussion --------------------------------------------------------------------------------

async function loadDiscussion () {
  const panel = panels.discussion
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true })
  const list = h('ol', { class: 'plain comments', id: 'comments' })
  let form = h('p', { class: 'hint' }, t('discussion.signin'))
  if (data.can_comment) {
    const body = h('textarea', { id: 'comment-body', rows: 3, maxlength: 10000, required: true })
    form = h('form', { class: 'stack' }, h('label', { for: 'comment-body' }, t('discussion.label')), body,
      h('div', {}, h('button', { type: 'submit', class: 'primary' }, t('discussion.send'))))
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      const text = body.value.trim()
      if (!text) return
      try {
        await api('POST', `${noteUrl}/comments`, { body: text })
        body.value = ''
        showError(error, null)
        load()
      } catch (failure) { showError(error, failure) }
    })
  }
  fill(panel, h('div', { class: 'stack' }, list, error, form))
  async function load () {
    try {
      const page = await api('GET', `${noteUrl}/comments?limit=200`)
      fill(list, page.items.length ? page.items.map((comment) => h('li', { class: 'comment' },
        h('p', { class: 'hint' }, comment.author ? comment.author.name : t('anonymous'), ' · ', formatDateTime(comment.created_at)),
        comment.deleted
          ? h('p', { class: 'hint' }, t('discussion.deleted'))
          : h('p', { class: 'comment-body' }, comment.body),
        !comment.deleted && user && comment.author && (comment.author.id === user.id || data.manager)
          ? h('button', {
            type: 'button',
            class: 'link-button',
            onclick: async () => {
              try {
                await api('DELETE', `${noteUrl}/comments/${encodeURIComponent(comment.id)}`)
                load()
              } catch (failure) { showError(error, failure) }
            },
          }, t('discussion.delete'))
          : null)) : h('li', { class: 'hint' }, t('discussion.empty')))
    } catch (failure) { showError(error, failure) }
  }
  load()
}

// Start ------------------------------------------------------------------------------------

applyEditable()
showNote()
showStatus()
showAvatars()
selectTab(0, false)
connection.start()

// Without IndexedDB (a private window, a full disk), unsent words live only in
// this tab: ask before it closes.
window.addEventListener('beforeunload', (event) => {
  if (connection.persistent || !connection.editable) return
  if (['saving', 'delayed', 'offline'].includes(connection.state())) event.preventDefault()
})

// For the browser tests and for people who debug: the live pieces of this page.
window.carnet = { editor, doc, connection }
