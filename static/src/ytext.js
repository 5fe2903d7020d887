// A note body as y-prosemirror stores it (an XmlFragment named "default"),
// drawn without an editor: as plain text for excerpts, or as safe DOM for the
// projector. Only known node and mark names become elements; text is always a
// text node; links keep http(s) and mailto addresses only.

import * as Y from 'yjs'

const BLOCKS = {
  paragraph: 'p',
  blockquote: 'blockquote',
  bulletList: 'ul',
  orderedList: 'ol',
  listItem: 'li',
  codeBlock: 'pre',
  horizontalRule: 'hr',
  hardBreak: 'br',
}
const MARKS = [['bold', 'strong'], ['italic', 'em'], ['strike', 's'], ['underline', 'u'], ['code', 'code']]

function markName (attributes, mark) {
  // y-prosemirror may suffix a mark's key ("bold--abc") when marks overlap.
  return Object.keys(attributes).some((key) => key === mark || key.startsWith(mark + '--'))
}

function safeHref (attributes) {
  for (const [key, value] of Object.entries(attributes)) {
    if ((key === 'link' || key.startsWith('link--')) && value && typeof value.href === 'string') {
      const href = value.href.trim()
      if (/^(https?:|mailto:)/i.test(href)) return href
    }
  }
  return null
}

function textNodes (ytext) {
  const out = []
  for (const op of ytext.toDelta()) {
    if (typeof op.insert !== 'string') continue
    let node = document.createTextNode(op.insert)
    const attributes = op.attributes || {}
    for (const [mark, tag] of MARKS) {
      if (markName(attributes, mark)) {
        const wrapper = document.createElement(tag)
        wrapper.append(node)
        node = wrapper
      }
    }
    const href = safeHref(attributes)
    if (href) {
      const link = document.createElement('a')
      link.href = href
      link.rel = 'noopener noreferrer nofollow'
      link.append(node)
      node = link
    }
    out.push(node)
  }
  return out
}

function element (item) {
  if (item instanceof Y.XmlText) return textNodes(item)
  if (!(item instanceof Y.XmlElement)) return []
  let tag = BLOCKS[item.nodeName]
  if (item.nodeName === 'heading') {
    const level = Math.min(6, Math.max(1, Math.round(Number(item.getAttribute('level')) || 2)))
    tag = `h${level}`
  }
  const children = item.toArray().flatMap(element)
  if (!tag) return children
  const node = document.createElement(tag)
  if (tag === 'pre') {
    const code = document.createElement('code')
    code.append(...children)
    node.append(code)
  } else {
    node.append(...children)
  }
  return [node]
}

/** The body as DOM nodes (for a DocumentFragment or replaceChildren). */
export function renderBody (doc) {
  return doc.getXmlFragment('default').toArray().flatMap(element)
}

function plain (item, out) {
  if (item instanceof Y.XmlText) {
    for (const op of item.toDelta()) if (typeof op.insert === 'string') out.push(op.insert)
    return
  }
  if (!(item instanceof Y.XmlElement)) return
  for (const child of item.toArray()) plain(child, out)
  if (item.nodeName !== 'listItem' && item.nodeName !== 'hardBreak') out.push('\n')
}

/** The body as plain text, one line per block. */
export function bodyText (doc) {
  const out = []
  for (const item of doc.getXmlFragment('default').toArray()) plain(item, out)
  return out.join('').replace(/\n{2,}/g, '\n').trim()
}
