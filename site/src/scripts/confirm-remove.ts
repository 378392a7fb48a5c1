/**
 * Progressive enhancement of the moderation decision form (`/mod/subtitles/{id}`): removal is final (the
 * subtitle can never be restored), so with JavaScript posting "remove" first asks `confirm()` with the form's
 * `data-confirm-remove` text; cancelling leaves the page as it was and posts nothing. Without JavaScript the
 * form is a plain required choice (no action is preselected; the browser refuses to post without one, and
 * the site answers "Choose a decision." if it is posted anyway).
 */
export function confirmRemoval(doc: Document): void {
  doc.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.confirmRemove === undefined) return;
    if (new FormData(form).get('decision') !== 'remove') return;
    if (!(doc.defaultView?.confirm(form.dataset.confirmRemove) ?? false)) event.preventDefault();
  });
}
