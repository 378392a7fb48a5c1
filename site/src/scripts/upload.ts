/**
 * The upload form with JavaScript: sent with XMLHttpRequest (fetch cannot report upload progress) to the
 * same URL as without it, a progress bar while the bytes go up, then the verdicts section of the answer
 * (the same HTML page the form gets without JavaScript) replaces the current one. Any failure → a plain
 * form post.
 */
export function enhanceUpload(doc: Document): void {
  const form = doc.getElementById('upload-form');
  const progress = doc.getElementById('upload-progress');
  if (!(form instanceof HTMLFormElement) || !(progress instanceof HTMLProgressElement)) return;
  let fallback = false;
  form.addEventListener('submit', (event) => {
    if (fallback) return;
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    if (button instanceof HTMLButtonElement) button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.getAttribute('action') ?? location.pathname);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.addEventListener('load', () => {
      if (button instanceof HTMLButtonElement) button.disabled = false;
      const fresh = new DOMParser().parseFromString(xhr.responseText, 'text/html');
      const result = fresh.getElementById('upload-result');
      const current = doc.getElementById('upload-result');
      if (!result || !current) {
        fallback = true;
        form.submit();
        return;
      }
      progress.value = 100;
      current.replaceWith(result);
      result.querySelector('h2')?.setAttribute('tabindex', '-1');
      (result.querySelector('h2') as HTMLElement | null)?.focus();
    });
    xhr.addEventListener('error', () => {
      fallback = true;
      form.submit();
    });
    xhr.send(new FormData(form));
  });
}
