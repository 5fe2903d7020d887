// What every page script shares: page data, building DOM safely, the JSON API.
//
// Nothing a person wrote ever goes through innerHTML: `h()` sets text with
// text nodes and attributes with setAttribute, so user content is inert.

import { formatDate, formatDateTime, t } from './i18n.js'

/** The JSON the server put in <script type="application/json" id="page-data">. */
export function pageData () {
  const block = document.getElementById('page-data')
  return block ? JSON.parse(block.textContent) : {}
}

/**
 * h('button', { class: 'x', onclick: fn, 'aria-label': '…' }, 'text', child)
 * Strings become text nodes; null/false children are skipped.
 */
export function h (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value)
    } else if (name === 'dataset') {
      Object.assign(node.dataset, value)
    } else if (name === 'value' || name === 'checked' || name === 'selected' || name === 'disabled' || name === 'hidden') {
      node[name] = value
    } else {
      node.setAttribute(name, value === true ? '' : String(value))
    }
  }
  append(node, children)
  return node
}

function append (node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/** Replace a node's children. */
export function fill (node, ...children) {
  node.replaceChildren()
  append(node, children)
  return node
}

export class ApiError extends Error {
  constructor (status, body) {
    super((body && body.detail) || t('error.generic'))
    this.status = status
    this.code = body && body.code
    this.body = body
  }
}

/** Call the JSON API with the session cookie and the CSRF token of this page. */
export async function api (method, path, body) {
  const headers = { Accept: 'application/json' }
  const data = pageData()
  if (data.csrf) headers['X-CSRF-Token'] = data.csrf
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let response
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    })
  } catch (error) {
    throw new ApiError(0, { detail: t('error.network') })
  }
  const type = response.headers.get('content-type') || ''
  const payload = response.status === 204
    ? null
    : type.includes('application/json') ? await response.json() : await response.text()
  if (!response.ok) throw new ApiError(response.status, typeof payload === 'object' ? payload : null)
  return payload
}

/** Show an error message in `target` (an element with role=alert), or clear it. */
export function showError (target, error) {
  if (!target) return
  if (!error) {
    target.hidden = true
    target.textContent = ''
    return
  }
  target.hidden = false
  target.textContent = error.message || t('error.generic')
}

/** A colour for a person, from their id: dark enough for white text (WCAG AA). */
const COLOURS = ['#b3261e', '#7b1fa2', '#283593', '#00695c', '#2e7d32', '#8d4e00', '#ad1457', '#1565c0', '#4e342e', '#37474f']
export function colourFor (id) {
  let hash = 0
  for (const char of String(id)) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  return COLOURS[hash % COLOURS.length]
}

export function initials (name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean)
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2)
  return letters.toUpperCase()
}

/** A modal confirmation (a <dialog>): resolves true when confirmed. */
export function confirmDialog (message, { confirmLabel = t('dialog.ok') } = {}) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'submit', class: 'primary', value: 'ok' }, confirmLabel)
    const cancel = h('button', { type: 'button' }, t('dialog.cancel'))
    const text = h('p', { id: 'confirm-text' }, message)
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'confirm-text' },
      h('form', { method: 'dialog' }, text, h('div', { class: 'actions' }, cancel, ok)))
    cancel.addEventListener('click', () => dialog.close('cancel'))
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok')
      dialog.remove()
    })
    document.body.append(dialog)
    dialog.showModal()
    ok.focus()
  })
}

/** Fill <time datetime="…" data-format="datetime|date"> elements in `root`. */
export function fillTimes (root = document) {
  for (const node of root.querySelectorAll('time[datetime]')) {
    const value = node.getAttribute('datetime')
    node.textContent = node.dataset.format === 'date' ? formatDate(value) : formatDateTime(value)
  }
}

export function debounce (fn, wait) {
  let timer = null
  return (...args) => {
    clearTimeout(timer)
    timer = setTimeout(() => fn(...args), wait)
  }
}
