import { balanceTags, type Cue, isNumpad, legacyToNumpad, type Numpad, type ParsedSubtitle } from './cue.ts';
import { assTime, parseAssTime, type Retiming, retime } from './timecode.ts';

/** libass's fallback field orders for files without a `Format:` line (`ass.c`, by script type). */
export const ASS_EVENT_FORMAT = 'Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text';
const SSA_EVENT_FORMAT = 'Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text';
export const ASS_STYLE_FORMAT =
  'Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding';
const SSA_STYLE_FORMAT =
  'Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, TertiaryColour, BackColour, Bold, Italic, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, AlphaLevel, Encoding';

const fieldsOf = (format: string) => format.split(',').map((f) => f.trim().toLowerCase());

/** Split a `Style:`/`Dialogue:` value into as many fields as the format has; the last takes the rest. */
function splitFields(value: string, count: number): string[] {
  const parts = value.split(',');
  if (parts.length <= count) return parts;
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join(',')];
}

interface Style {
  readonly align: Numpad | undefined;
  readonly italic: boolean;
  readonly bold: boolean;
  readonly underline: boolean;
}

/** A script split as libass reads it: its type, WrapStyle, styles, and each line with its section. */
function scan(text: string) {
  const lines = text.split('\n');
  let section = '';
  // Script type and WrapStyle live before the events: search only there (multiline regexes over a
  // megabyte of dialogue cost more than the parse).
  const events = text.search(/^\s*\[Events\]/im);
  const head = events >= 0 ? text.slice(0, events) : text;
  let ssa = /^ScriptType:\s*v4\.00\s*$/im.test(head) && !/^\[V4\+ Styles\]/im.test(head);
  if (/^\[V4 Styles\]/im.test(head)) ssa = true;
  const wrapStyle = Number(/^WrapStyle:\s*(\d)/im.exec(head)?.[1] ?? 0);
  return {
    lines,
    ssa,
    wrapStyle,
    playRes: playResOf(head),
    sectionOf: (line: string) => {
      const m = /^\s*\[([^\]]+)\]\s*$/.exec(line);
      if (m) section = (m[1] ?? '').toLowerCase();
      return { header: Boolean(m), section };
    },
  };
}

/**
 * The script's coordinate space (`PlayResX`/`PlayResY`), completed as libass does when one or both are
 * missing (`ass.c`, `ass_process_header`): neither → 384×288; only X → Y = X·3/4 (1280 → 1024); only Y →
 * X = Y·4/3 (1024 → 1280).
 */
function playResOf(head: string): { x: number; y: number } {
  const read = (name: string) => Number(new RegExp(`^PlayRes${name}:\\s*(\\d+)`, 'im').exec(head)?.[1] ?? 0);
  let x = read('X');
  let y = read('Y');
  if (!x && !y) return { x: 384, y: 288 };
  if (!y) y = x === 1280 ? 1024 : (x * 3) / 4;
  if (!x) x = y === 1024 ? 1280 : (y * 4) / 3;
  return { x, y };
}

const truthy = (v: string | undefined) => v !== undefined && v.trim() !== '' && Number(v) !== 0;

/**
 * ASS override text to the common text (as libass renders it): `{…}` blocks are tags — `\i`, `\b`,
 * `\u` become formatting, `\an`/`\a` a position, `\r` resets to the style, `\p1`… starts a drawing
 * (not text); `\N` is a line break, `\n` one only with WrapStyle 2 (else a space), `\h` a hard space.
 */
function assText(
  raw: string,
  style: Style,
  wrapStyle: number,
  playRes: { x: number; y: number },
): Pick<Cue, 'text' | 'align' | 'pos'> {
  let align = style.align;
  let pos: { x: number; y: number } | undefined;
  const state = { i: style.italic, b: style.bold, u: style.underline };
  let shown: ('i' | 'b' | 'u')[] = []; // open tags, in order of opening
  let drawing = false;
  let out = '';
  const sync = () => {
    // Close back to the first tag that must change, then reopen what is on: tags always nest.
    const keep = shown.findIndex((k) => !state[k]);
    if (keep >= 0) {
      for (const k of shown.slice(keep).reverse()) out += `</${k}>`;
      shown = shown.slice(0, keep);
    }
    for (const k of ['i', 'b', 'u'] as const)
      if (state[k] && !shown.includes(k)) {
        out += `<${k}>`;
        shown.push(k);
      }
  };
  for (const part of raw.split(/(\{[^}]*\})/)) {
    if (part.startsWith('{') && part.endsWith('}')) {
      // libass takes a line's first \pos (later ones are ignored), in script coordinates.
      const at = pos ? undefined : /\\pos\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\)/.exec(part);
      if (at) pos = { x: percent(Number(at[1]), playRes.x), y: percent(Number(at[2]), playRes.y) };
      for (const [, name = '', arg = ''] of part.matchAll(/\\(an|[ibup]|a|r)(\d*)/g)) {
        const n = Number(arg);
        if (name === 'an' && isNumpad(n)) align = n;
        else if (name === 'a' && arg !== '') align = legacyToNumpad(n) ?? align;
        else if (name === 'p') drawing = n > 0;
        else if (name === 'r') Object.assign(state, { i: style.italic, b: style.bold, u: style.underline });
        else if (name === 'i' || name === 'u') state[name] = arg === '' ? false : n === 1;
        else if (name === 'b') state.b = arg === '' ? false : n === 1 || n >= 700;
      }
      continue;
    }
    if (drawing || part === '') continue;
    sync();
    out += part
      .replace(/\\N/g, '\n')
      .replace(/\\n/g, wrapStyle === 2 ? '\n' : ' ')
      .replace(/\\h/g, '\u00a0');
  }
  const text = balanceTags(out.replace(/[ \t]+\n|\n[ \t]+/g, '\n').trim());
  return {
    text: text.replace(/^(<\/?[ibu]>)+$/, ''),
    ...(align && (align !== 2 || pos) ? { align } : {}),
    ...(pos ? { pos } : {}),
  };
}

/** A script coordinate as a percentage of the frame, clamped to it, to two decimals. */
const percent = (v: number, of: number) => Math.round(Math.min(100, Math.max(0, (v / of) * 100)) * 100) / 100;

/**
 * Read ASS or SSA as libass does: sections by header; `Style:` and `Dialogue:` fields by the section's
 * `Format:` line or, without one, the standard v4.00+ (or v4.00) order; times `H:MM:SS.CC`; `Comment:`
 * lines ignored. Cues come out in time order; lines that hold only a drawing are not cues.
 */
export function parseAss(text: string): ParsedSubtitle {
  const { lines, ssa, wrapStyle, playRes, sectionOf } = scan(text);
  const warnings: string[] = [];
  const styles = new Map<string, Style>();
  let styleFormat: string[] | undefined;
  let eventFormat: string[] | undefined;
  const cues: Cue[] = [];
  let sawEvents = false;
  lines.forEach((line, index) => {
    const { header, section } = sectionOf(line);
    if (header) {
      if (section === 'events') sawEvents = true;
      return;
    }
    const m = /^\s*([A-Za-z]+):\s?(.*)$/.exec(line);
    if (!m) return;
    const [, key = '', value = ''] = m;
    if (section === 'v4+ styles' || section === 'v4 styles') {
      if (key === 'Format') styleFormat = fieldsOf(value);
      if (key !== 'Style') return;
      const format = styleFormat ?? fieldsOf(ssa ? SSA_STYLE_FORMAT : ASS_STYLE_FORMAT);
      const f = Object.fromEntries(format.map((name, i) => [name, splitFields(value, format.length)[i]]));
      const rawAlign = Number(f.alignment ?? 2);
      const align = ssa ? legacyToNumpad(rawAlign) : isNumpad(rawAlign) ? rawAlign : undefined;
      styles.set((f.name ?? '').trim().replace(/^\*/, ''), {
        align,
        italic: truthy(f.italic),
        bold: truthy(f.bold),
        underline: truthy(f.underline),
      });
    } else if (section === 'events') {
      if (key === 'Format') eventFormat = fieldsOf(value);
      if (key !== 'Dialogue') return;
      const format = eventFormat ?? fieldsOf(ssa ? SSA_EVENT_FORMAT : ASS_EVENT_FORMAT);
      const parts = splitFields(value, format.length);
      const f = Object.fromEntries(format.map((name, i) => [name, parts[i]]));
      const start = parseAssTime(f.start ?? '');
      const end = parseAssTime(f.end ?? '');
      if (start === undefined || end === undefined || f.text === undefined) {
        warnings.push(`skipped the Dialogue line ${index + 1}: its fields do not parse`);
        return;
      }
      const style = styles.get((f.style ?? '').trim().replace(/^\*/, '')) ??
        styles.get('Default') ?? { align: undefined, italic: false, bold: false, underline: false };
      const cue = { start, end, ...assText(f.text, style, wrapStyle, playRes) };
      if (cue.text !== '') cues.push(cue);
    }
  });
  if (!sawEvents) warnings.push('the script has no [Events] section');
  return { cues: cues.sort((a, b) => a.start - b.start), warnings };
}

const ASS_HEADER = `[Script Info]
; Converted by Isekai
ScriptType: v4.00+
PlayResX: 1920
PlayResY: 1080
WrapStyle: 0
ScaledBorderAndShadow: yes

[V4+ Styles]
Format: ${ASS_STYLE_FORMAT}
Style: Default,Arial,64,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,3,1,2,60,60,50,1

[Events]
Format: ${ASS_EVENT_FORMAT}
`;

/**
 * Common text as ASS text: formatting as `{\i1}`…, line breaks as `\N`, a position as `{\anN}`, an anchor
 * point as `\pos(x,y)` in the 1920×1080 coordinates of the header we write.
 */
function toAssText(cue: Cue): string {
  const text = cue.text
    .replace(/<(\/?)([ibu])>/g, (_t, close: string, name: string) => `{\\${name}${close ? 0 : 1}}`)
    .replace(/\n/g, '\\N');
  const an = cue.align && (cue.align !== 2 || cue.pos) ? `\\an${cue.align}` : '';
  const pos = cue.pos ? `\\pos(${round1((cue.pos.x * 1920) / 100)},${round1((cue.pos.y * 1080) / 100)})` : '';
  return an || pos ? `{${an}${pos}}${text}` : text;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** Cues as an ASS v4.00+ script with one Default style. */
export function renderAss(cues: readonly Cue[]): string {
  const lines = cues.map(
    (c) => `Dialogue: 0,${assTime(c.start)},${assTime(c.end)},Default,,0,0,0,,${toAssText(c)}`,
  );
  return `${ASS_HEADER}${lines.join('\n')}\n`;
}

/** An SSA colour (decimal, maybe negative, or `&H…`) as a v4.00+ `&HAABBGGRR`. */
function assColour(raw: string | undefined): string {
  const v = (raw ?? '').trim();
  const n = /^&H/i.test(v) ? Number.parseInt(v.slice(2).replace(/&$/, ''), 16) : Number(v);
  return `&H${((Number.isFinite(n) ? n : 0) >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/**
 * SSA (v4.00) as a real ASS (v4.00+) script: `ScriptType: v4.00+`; `[V4+ Styles]` with the V4+ fields
 * (TertiaryColour becomes OutlineColour, AlphaLevel — unused by libass — is dropped, Underline/StrikeOut
 * 0, Scale 100, Spacing/Angle 0, legacy alignment 1–11 mapped to numpad); events with `Layer` (0) for
 * `Marked`, `{\aN}` tags as `{\anN}`. Other sections are kept as they are.
 */
export function ssaToAss(text: string): string {
  const { lines, sectionOf } = scan(text);
  const out: string[] = [];
  let styleFormat = fieldsOf(SSA_STYLE_FORMAT);
  let eventFormat = fieldsOf(SSA_EVENT_FORMAT);
  let sawType = false;
  for (const line of lines) {
    const { header, section } = sectionOf(line);
    if (header) {
      if (section === 'v4 styles') {
        out.push('[V4+ Styles]', `Format: ${ASS_STYLE_FORMAT}`);
        continue;
      }
      if (section === 'events') {
        out.push('[Events]', `Format: ${ASS_EVENT_FORMAT}`);
        continue;
      }
      out.push(line);
      continue;
    }
    const m = /^\s*([A-Za-z]+):\s?(.*)$/.exec(line);
    if (section === 'script info' && m?.[1] === 'ScriptType') {
      out.push('ScriptType: v4.00+');
      sawType = true;
    } else if (section === 'v4 styles' && m?.[1] === 'Format') styleFormat = fieldsOf(m[2] ?? '');
    else if (section === 'v4 styles' && m?.[1] === 'Style') {
      const parts = splitFields(m[2] ?? '', styleFormat.length);
      const f = Object.fromEntries(styleFormat.map((name, i) => [name, (parts[i] ?? '').trim()]));
      out.push(
        `Style: ${[
          f.name,
          f.fontname,
          f.fontsize,
          assColour(f.primarycolour),
          assColour(f.secondarycolour),
          assColour(f.tertiarycolour ?? f.outlinecolour),
          assColour(f.backcolour),
          f.bold || '0',
          f.italic || '0',
          '0',
          '0',
          '100',
          '100',
          '0',
          '0',
          f.borderstyle || '1',
          f.outline || '0',
          f.shadow || '0',
          legacyToNumpad(Number(f.alignment ?? 2)) ?? 2,
          f.marginl || '0',
          f.marginr || '0',
          f.marginv || '0',
          f.encoding || '1',
        ].join(',')}`,
      );
    } else if (section === 'events' && m?.[1] === 'Format') eventFormat = fieldsOf(m[2] ?? '');
    else if (section === 'events' && (m?.[1] === 'Dialogue' || m?.[1] === 'Comment')) {
      const parts = splitFields(m[2] ?? '', eventFormat.length);
      const f = Object.fromEntries(eventFormat.map((name, i) => [name, parts[i] ?? '']));
      const layer = /^\d+$/.test((f.layer ?? '').trim()) ? (f.layer ?? '').trim() : '0';
      const textField = (f.text ?? '').replace(/\\a(\d{1,2})(?!\d)/g, (tag, n: string) => {
        const numpad = legacyToNumpad(Number(n));
        return numpad ? `\\an${numpad}` : tag;
      });
      const fields = [
        layer,
        f.start,
        f.end,
        f.style,
        f.name,
        f.marginl,
        f.marginr,
        f.marginv,
        f.effect,
        textField,
      ];
      out.push(`${m[1]}: ${fields.map((v) => v ?? '').join(',')}`);
    } else out.push(line);
  }
  const info = out.findIndex((l) => /^\s*\[Script Info\]\s*$/i.test(l));
  if (!sawType) out.splice(info + 1, 0, 'ScriptType: v4.00+');
  return out.join('\n');
}

/** ASS/SSA with every Dialogue/Comment time moved (the rest of the script, typesetting included, kept). */
export function retimeAss(text: string, timing: Retiming): string {
  const { lines, ssa, sectionOf } = scan(text);
  let format = fieldsOf(ssa ? SSA_EVENT_FORMAT : ASS_EVENT_FORMAT);
  return lines
    .map((line) => {
      const { header, section } = sectionOf(line);
      const m = /^(\s*(Dialogue|Comment|Format):\s?)(.*)$/.exec(line);
      if (header || section !== 'events' || !m) return line;
      const value = m[3] ?? '';
      if (m[2] === 'Format') {
        format = fieldsOf(value);
        return line;
      }
      const parts = splitFields(value, format.length);
      for (const name of ['start', 'end']) {
        const at = format.indexOf(name);
        const ms = parseAssTime(parts[at] ?? '');
        if (at >= 0 && ms !== undefined) parts[at] = assTime(retime(ms, timing));
      }
      return `${m[1]}${parts.join(',')}`;
    })
    .join('\n');
}
