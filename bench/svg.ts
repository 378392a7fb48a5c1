/**
 * A small SVG line chart writer for bench results (no browser, no dependency): stacked panels sharing the
 * time axis, each with its own y scale, grid, labels and a legend. Plain SVG 1.1, readable in any browser
 * or image viewer.
 */

export interface Series {
  readonly name: string;
  /** [x, y] points, x in the chart's unit (seconds). */
  readonly points: readonly (readonly [number, number])[];
}

export interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly Series[];
  /** A horizontal reference line (e.g. the 100 ms p99 budget). */
  readonly reference?: { readonly y: number; readonly label: string };
}

const COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#393b79',
  '#637939',
  '#8c6d31',
];

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" step for about `ticks` intervals over `span`. */
function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * power) return m * power;
  return 10 * power;
}

/** The chart as an SVG document: `panels` stacked, x axis in seconds labelled `xLabel`. */
export function lineChart(title: string, xLabel: string, panels: readonly Panel[]): string {
  const width = 960;
  const panelHeight = 220;
  const left = 70;
  const right = 250;
  const top = 60;
  const gap = 50;
  const height = top + panels.length * (panelHeight + gap) + 10;
  const allX = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xMax = Math.max(1, ...allX);
  const plotWidth = width - left - right;
  const sx = (x: number) => left + (x / xMax) * plotWidth;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const y0 = top + index * (panelHeight + gap);
    const ys = panel.series.flatMap((s) => s.points.map(([, y]) => y));
    const yMax = Math.max(1e-9, ...ys, panel.reference?.y ?? 0) * 1.1;
    const sy = (y: number) => y0 + panelHeight - (y / yMax) * panelHeight;
    out.push(
      `<text x="${left}" y="${y0 - 6}" font-size="12" font-weight="bold">${escapeXml(panel.title)} (${escapeXml(panel.unit)})</text>`,
    );
    const yStep = niceStep(yMax, 5);
    for (let y = 0; y <= yMax; y += yStep) {
      out.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#e5e5e5"/>`,
      );
      out.push(
        `<text x="${left - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end">${Number(y.toPrecision(4))}</text>`,
      );
    }
    const xStep = niceStep(xMax, 10);
    for (let x = 0; x <= xMax; x += xStep) {
      out.push(
        `<line x1="${sx(x).toFixed(1)}" x2="${sx(x).toFixed(1)}" y1="${y0}" y2="${y0 + panelHeight}" stroke="#f0f0f0"/>`,
      );
      out.push(
        `<text x="${sx(x).toFixed(1)}" y="${y0 + panelHeight + 14}" text-anchor="middle">${Number(x.toPrecision(4))}</text>`,
      );
    }
    out.push(
      `<rect x="${left}" y="${y0}" width="${plotWidth}" height="${panelHeight}" fill="none" stroke="#999"/>`,
    );
    if (index === panels.length - 1)
      out.push(
        `<text x="${left + plotWidth / 2}" y="${y0 + panelHeight + 30}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
      );
    if (panel.reference) {
      const y = sy(panel.reference.y).toFixed(1);
      out.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${y}" y2="${y}" stroke="#d62728" stroke-dasharray="6 4"/>`,
      );
      out.push(
        `<text x="${left + plotWidth - 4}" y="${Number(y) - 4}" text-anchor="end" fill="#d62728">${escapeXml(panel.reference.label)}</text>`,
      );
    }
    panel.series.forEach((series, i) => {
      const colour = COLOURS[i % COLOURS.length];
      // Past the palette, the same colours dashed.
      const dash = i >= COLOURS.length ? ' stroke-dasharray="5 3"' : '';
      const d = series.points
        .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
        .join(' ');
      if (d) out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.6"${dash}/>`);
      const ly = y0 + 12 + i * 15;
      out.push(
        `<line x1="${left + plotWidth + 12}" x2="${left + plotWidth + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"/>`,
      );
      out.push(`<text x="${left + plotWidth + 34}" y="${ly}">${escapeXml(series.name)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
