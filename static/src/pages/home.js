// Home: my carnets, and the form that creates one through the API.
import { api, fillTimes, showError } from '../common.js'

fillTimes()

const form = document.getElementById('new-carnet')
if (form) {
  const error = document.getElementById('new-carnet-error')
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const data = new FormData(form)
    const text = (name) => String(data.get(name) || '').trim()
    const body = {
      title: text('title'),
      visibility: text('visibility') || 'private',
      description: text('description'),
      event_name: text('event_name'),
      event_place: text('event_place'),
      writing_guide: text('writing_guide'),
      categories: [...new Set(text('categories').split(',').map((c) => c.trim()).filter(Boolean))],
    }
    if (text('event_start')) body.event_start = text('event_start')
    if (text('event_end')) body.event_end = text('event_end')
    const button = form.querySelector('button[type=submit]')
    button.disabled = true
    showError(error, null)
    try {
      const carnet = await api('POST', '/api/carnets', body)
      location.assign(`/carnets/${encodeURIComponent(carnet.id)}`)
    } catch (failure) {
      showError(error, failure)
      button.disabled = false
    }
  })
}
