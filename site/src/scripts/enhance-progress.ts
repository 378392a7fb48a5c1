/**
 * Progressive enhancement of the anime page's "+1 episode" form: with JavaScript the form is sent in the
 * background and the viewer's panel (list, history, rating) is replaced by the fresh one from the answer,
 * without a reload; focus goes back to the new +1 button. Without JavaScript (or if anything fails) the
 * form posts normally (303 → the page again).
 */
export function enhanceProgress(doc: Document): void {
  doc.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.enhance !== 'progress') return;
    event.preventDefault();
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    try {
      // getAttribute: the form has a field named "action", which shadows form.action.
      const res = await fetch(form.getAttribute('action') ?? location.href, {
        method: 'POST',
        body: new URLSearchParams(new FormData(form) as unknown as Record<string, string>),
        credentials: 'same-origin',
      });
      if (!res.ok || res.redirected === false) throw new Error(`answered ${res.status}`);
      const fresh = new DOMParser().parseFromString(await res.text(), 'text/html');
      const panel = fresh.getElementById('mine');
      const current = doc.getElementById('mine');
      if (!panel || !current) throw new Error('no panel in the answer');
      current.replaceWith(panel);
      const flash = fresh.querySelector('.flash');
      const oldFlash = doc.querySelector('.flash');
      if (flash && oldFlash) oldFlash.replaceWith(flash);
      else if (flash) doc.getElementById('main')?.prepend(flash);
      panel.querySelector<HTMLButtonElement>('form[data-enhance="progress"] button')?.focus();
    } catch {
      form.submit();
    }
  });
}
