/**
 * The ASS/SSA preview (only on /subtitles/{id}/preview): libass in WebAssembly (`jassub`) draws the
 * script, with its typesetting, on a canvas over a neutral background at the time the viewer picks. No
 * video: frames are driven with `manualRender` (jassub README, "Using only with canvas"). The worker and
 * the wasm files are bundled by Vite as `/_astro/*` assets (same origin, the edge's CSP `script-src 'self'
 * 'wasm-unsafe-eval'`). Fonts: jassub's default (Liberation Sans) for every family; no local-font query
 * (it would ask the viewer for a permission) and no remote fonts.
 */
import JASSUB from 'jassub';

const WIDTH = 640;
const HEIGHT = 360;

export async function startPreview(doc: Document): Promise<void> {
  const canvas = doc.getElementById('preview-canvas');
  const source = doc.getElementById('ass-source')?.textContent ?? '';
  const form = doc.getElementById('preview-controls');
  const time = doc.getElementById('preview-time');
  const status = doc.getElementById('preview-status');
  if (
    !(canvas instanceof HTMLCanvasElement) ||
    !(form instanceof HTMLFormElement) ||
    !(time instanceof HTMLInputElement)
  )
    return;
  const say = (text: string) => {
    if (status) status.textContent = text;
  };
  say('Loading the renderer…');
  let renderer: JASSUB | undefined;
  let generation = 0;
  const show = async () => {
    if (!renderer) return;
    const r = renderer;
    const seconds = Math.max(0, Number(time.value) || 0);
    const mine = ++generation;
    const frame = () => ({
      expectedDisplayTime: performance.now(),
      width: WIDTH,
      height: HEIGHT,
      mediaTime: seconds,
    });
    await r.manualRender(frame(), true);
    // The default font loads on first use, after the first frame: draw again once it is there.
    for (const wait of [250, 750]) {
      await new Promise((done) => setTimeout(done, wait));
      if (mine !== generation) return;
      await r.manualRender(frame(), true);
    }
    canvas.dataset.renderedAt = String(seconds);
    say(`Rendered at ${seconds.toFixed(2)} s.`);
  };
  // Bound before the renderer is ready: a time asked meanwhile is drawn once it is.
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void show();
  });
  try {
    renderer = new JASSUB({ canvas, subContent: source, queryFonts: false });
    await renderer.ready;
  } catch (error) {
    say(
      `The preview could not start in this browser: ${error instanceof Error ? error.message : String(error)}`,
    );
    return;
  }
  await show();
}
