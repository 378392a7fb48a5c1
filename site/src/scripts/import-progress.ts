/**
 * Progressive enhancement of the MAL import form: with JavaScript the file goes to the site's
 * `/me/import/progress` relay (same origin, CSRF token in the form) and the library's progress stream
 * (NDJSON: `{file}`, `{progress:{done,total}}`…, `{report}` or `{failure}`) moves a `<progress>` bar and
 * a live status line, then the per-row report is shown in place — the same table the page renders
 * without JavaScript, where the form simply posts and the answer is the report.
 */
interface RowReport {
  row: number;
  malId: number | null;
  title: string;
  outcome: string;
  animeId?: number;
  reason?: string;
  warnings?: string[];
}
interface Report {
  totals: { imported: number; updated: number; unchanged: number; skipped: number };
  rows: RowReport[];
}

function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** The report section, as import.astro renders it (text only: titles and reasons never become HTML). */
function reportSection(doc: Document, rowsRead: number, report: Report): HTMLElement {
  const { imported, updated, unchanged, skipped } = report.totals;
  const body = el(doc, 'tbody');
  for (const r of report.rows) {
    // A MAL row may have no series_title: name it by its MAL id (a link needs text).
    const name = r.title || `MAL anime ${r.malId ?? '?'}`;
    const title = r.animeId ? el(doc, 'a', { href: `/anime/${r.animeId}` }, name) : name;
    const notes = el(doc, 'td', {}, r.reason ?? '');
    if (r.warnings?.length)
      notes.append(el(doc, 'ul', { class: 'warnings' }, ...r.warnings.map((w) => el(doc, 'li', {}, w))));
    body.append(
      el(
        doc,
        'tr',
        {},
        el(doc, 'td', {}, String(r.row)),
        el(doc, 'td', {}, title),
        el(doc, 'td', {}, r.outcome),
        notes,
      ),
    );
  }
  const head = el(
    doc,
    'thead',
    {},
    el(
      doc,
      'tr',
      {},
      ...['Row', 'Title', 'Outcome', 'Reason or changes'].map((h) => el(doc, 'th', { scope: 'col' }, h)),
    ),
  );
  return el(
    doc,
    'section',
    { class: 'panel', id: 'import-report', 'aria-labelledby': 'h-report' },
    el(doc, 'h2', { id: 'h-report', tabindex: '-1' }, 'Import report'),
    el(
      doc,
      'p',
      { 'data-testid': 'import-totals' },
      `${rowsRead} rows read: ${imported} imported, ${updated} updated${unchanged > 0 ? `, ${unchanged} unchanged` : ''}, ${skipped} skipped.`,
    ),
    el(doc, 'div', { class: 'table-wrap' }, el(doc, 'table', {}, head, body)),
  );
}

export function enhanceImport(doc: Document): void {
  doc.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.enhance !== 'import' || !form.dataset.progress)
      return;
    const data = new FormData(form);
    const file = data.get('file');
    if (!(file instanceof File) || file.size === 0) return; // the server explains
    event.preventDefault();
    const box = doc.getElementById('import-progress');
    const meter = doc.getElementById('import-meter') as HTMLProgressElement | null;
    const status = doc.getElementById('import-progress-text');
    const button = form.querySelector('button');
    if (!box || !meter || !status) return form.submit();
    if (button) button.disabled = true;
    box.hidden = false;
    meter.removeAttribute('value'); // indeterminate while uploading
    status.textContent = `Uploading ${file.name}…`;
    doc.getElementById('import-report')?.remove();
    doc.getElementById('file-error')?.remove();
    let rowsRead = 0;
    let done = false;
    try {
      const res = await fetch(form.dataset.progress, {
        method: 'POST',
        body: data,
        credentials: 'same-origin',
      });
      if (!res.body) throw new Error('no body');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done: end } = await reader.read();
        if (value) buffer += value;
        const lines = buffer.split('\n');
        buffer = end ? '' : (lines.pop() ?? '');
        for (const raw of lines) {
          if (!raw.trim()) continue;
          const line = JSON.parse(raw) as {
            file?: { rows: number };
            progress?: { done: number; total: number };
            report?: Report;
            failure?: string;
            fileError?: string;
          };
          if (line.file) {
            rowsRead = line.file.rows;
            meter.max = Math.max(rowsRead, 1);
            meter.value = 0;
            status.textContent = `Importing ${rowsRead} rows…`;
          } else if (line.progress) {
            meter.max = Math.max(line.progress.total, 1);
            meter.value = line.progress.done;
            status.textContent = `${line.progress.done} of ${line.progress.total} rows imported…`;
          } else if (line.report) {
            done = true;
            meter.value = meter.max;
            status.textContent = `Done: ${rowsRead} of ${rowsRead} rows read.`;
            const section = reportSection(doc, rowsRead, line.report);
            form.closest('section')?.after(section);
            section.querySelector<HTMLElement>('h2')?.focus();
          } else if (line.failure) {
            done = true;
            box.hidden = true;
            status.textContent = '';
            form.before(el(doc, 'p', { class: 'error-text', role: 'alert' }, line.failure));
            const input = form.querySelector<HTMLInputElement>('input[type=file]');
            if (line.fileError && input) {
              // The reason next to the file field, as the page without JavaScript shows it.
              input.setAttribute('aria-invalid', 'true');
              input.setAttribute('aria-describedby', 'file-error');
              input.after(
                el(
                  doc,
                  'p',
                  { class: 'error', id: 'file-error', 'data-testid': 'file-error' },
                  line.fileError,
                ),
              );
            }
          }
        }
        if (end) break;
      }
      if (!done) throw new Error('stream ended early');
    } catch {
      status.textContent = 'The progress view stopped; sending the form the usual way…';
      form.submit();
      return;
    } finally {
      if (button) button.disabled = false;
    }
  });
}
