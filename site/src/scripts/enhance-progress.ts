/**
 * Progressive enhancement of the anime page's "+1 episode" form: with JavaScript the form is sent in the
 * background and the viewer's panel (list, history, rating) is replaced by the fresh one from the answer,
 * without a reload; focus goes back to the new +1 button. Without JavaScript the form posts normally
 * (303 → the page again).
 *
 * The form is sent at most once: once `fetch` has started, the POST may have reached the site (a failed
 * token refresh answers with a redirect to the identity provider, which `fetch` cannot follow across
 * origins and reports as a network error), so a failure never posts the form again. An answer that is
 * not the page with its panel (the 403 "session has ended" page, a 400) is shown as it came; no answer at
 * all reloads the page (GET), which shows where things stand.
 */
export function enhanceProgress(doc: Document): void {
  doc.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.enhance !== 'progress') return;
    event.preventDefault();
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    let res: Response;
    try {
      // getAttribute: the form has a field named "action", which shadows form.action.
      res = await fetch(form.getAttribute('action') ?? location.href, {
        method: 'POST',
        body: new URLSearchParams(new FormData(form) as unknown as Record<string, string>),
        credentials: 'same-origin',
      });
    } catch {
      location.reload();
      return;
    }
    const html = await res.text().catch(() => '');
    const fresh = new DOMParser().parseFromString(html, 'text/html');
    const panel = res.ok && res.redirected ? fresh.getElementById('mine') : null;
    const current = doc.getElementById('mine');
    if (!panel || !current) {
      showAnswer(doc, res, html ? fresh : undefined);
      return;
    }
    current.replaceWith(panel);
    const flash = fresh.querySelector('.flash');
    const oldFlash = doc.querySelector('.flash');
    if (flash && oldFlash) oldFlash.replaceWith(flash);
    else if (flash) doc.getElementById('main')?.prepend(flash);
    panel.querySelector<HTMLButtonElement>('form[data-enhance="progress"] button')?.focus();
  });
}

/** Show an answer that is not the expected page: its own address when it has one (GET), else its HTML. */
function showAnswer(doc: Document, res: Response, answer: Document | undefined): void {
  if (res.ok && res.redirected) location.assign(res.url);
  else if (answer) doc.replaceChild(doc.importNode(answer.documentElement, true), doc.documentElement);
  else location.reload();
}
