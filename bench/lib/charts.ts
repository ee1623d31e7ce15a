/**
 * SVG charts of the benchmarks' figures, so a reader sees at a glance where keycard stands: horizontal
 * bars (one per variant, with the spread over the runs as a whisker) and lines (a figure against a
 * size or a delay). Plain SVG strings, no library: the charts are drawn from the same figures as the
 * tables, by `npm run bench`, and written next to them in bench/results/.
 */

export interface Bar {
  label: string;
  /** The median; NaN for a variant that was not measured (drawn as "not measured"). */
  value: number;
  /** The spread over the runs (min and max), drawn as a whisker. */
  low?: number;
  high?: number;
  /** keycard's own variants in blue, the peers a user would pick instead in amber, floors in grey. */
  kind: 'ours' | 'peer' | 'floor';
  /** A wanted value (a target), drawn as a dashed mark across the bar. */
  target?: number;
}

export interface BarChart {
  kind: 'bars';
  title: string;
  /** The axis's unit, such as `requests/s` or `µs of server CPU per request`. */
  unit: string;
  /** Which way is better, printed under the title. */
  better: 'higher' | 'lower';
  bars: Bar[];
}

export interface LineSeries {
  name: string;
  /** [x, y] pairs; drawn in x order. */
  points: Array<[number, number]>;
}

export interface LineChart {
  kind: 'lines';
  title: string;
  xLabel: string;
  yLabel: string;
  /** A logarithmic x axis, for sizes spanning decades (10 k … 1 M sessions). */
  xLog?: boolean;
  series: LineSeries[];
  /** A dashed horizontal line, such as a target. */
  reference?: { y: number; label: string };
}

export type ChartSpec = BarChart | LineChart;

/** A chart and the file name it is written under (`http-requests.svg`). */
export interface Chart {
  file: string;
  spec: ChartSpec;
}

const WIDTH = 760;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const FILL = { ours: '#2563eb', peer: '#d97706', floor: '#c7ccd4' } as const;
const LEGEND = { ours: 'keycard', peer: 'peers', floor: 'floors' } as const;
const INK = '#111827';
const MUTED = '#6b7280';
const GRID = '#e5e7eb';
/** Distinguishable on white and for the common colour-vision deficiencies (Okabe–Ito). */
const SERIES = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#d55e00', '#56b4e9', '#000000'];

export function renderChart(spec: ChartSpec): string {
  return spec.kind === 'bars' ? renderBars(spec) : renderLines(spec);
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Rounded for SVG coordinates: one decimal is finer than a pixel. */
function at(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** Tick values from 0 (or `min`) to at least `max`, on a 1–2–5 step, about `count` of them. */
export function niceTicks(max: number, count = 5, min = 0): number[] {
  if (!(max > min)) return [min, min + 1];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((factor) => factor * magnitude >= raw) as number) * magnitude;
  const ticks: number[] = [];
  for (let tick = Math.floor(min / step) * step; tick < max + step; tick += step) {
    ticks.push(Number(tick.toPrecision(12)));
    if (tick >= max) break;
  }
  return ticks;
}

/** 12,345 · 1.5 k · 1 M: short numbers for axes and value labels. */
export function shortNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))} M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))} k`;
  if (abs >= 100 || Number.isInteger(value)) return Math.round(value).toLocaleString('en-US');
  return String(Number(value.toPrecision(2)));
}

function frame(height: number, title: string, subtitle: string[], body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${at(height)}" viewBox="0 0 ${WIDTH} ${at(height)}" role="img" aria-label="${xml(title)}" ${FONT}>`,
    `<title>${xml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="16" font-weight="600" fill="${INK}">${xml(title)}</text>`,
    ...subtitle.map(
      (line, index) =>
        `<text x="16" y="${46 + index * 16}" font-size="12" fill="${MUTED}">${xml(line)}</text>`,
    ),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function renderBars(spec: BarChart): string {
  if (spec.bars.length === 0) throw new Error(`chart '${spec.title}' has no bars`);
  // About 7.2 px per character of bold 12 px system-ui: wide enough for the longest label.
  const labelWidth = Math.min(440, Math.max(...spec.bars.map((bar) => bar.label.length)) * 7.2 + 8);
  const left = 16 + labelWidth;
  const right = WIDTH - 70;
  const top = 80;
  const row = 24;
  const measured = spec.bars.filter((bar) => Number.isFinite(bar.value));
  const max = Math.max(
    ...measured.map((bar) => Math.max(bar.value, bar.high ?? bar.value, bar.target ?? 0)),
    0,
  );
  const ticks = niceTicks(max);
  const scale = (value: number) => left + (value / (ticks.at(-1) as number)) * (right - left);
  const plotBottom = top + spec.bars.length * row;
  const body: string[] = [];
  for (const tick of ticks) {
    const x = scale(tick);
    body.push(
      `<line x1="${at(x)}" y1="${top - 4}" x2="${at(x)}" y2="${plotBottom}" stroke="${GRID}"/>`,
      `<text x="${at(x)}" y="${plotBottom + 16}" font-size="11" fill="${MUTED}" text-anchor="middle">${xml(shortNumber(tick))}</text>`,
    );
  }
  spec.bars.forEach((bar, index) => {
    const y = top + index * row;
    const middle = y + row / 2;
    const weight = bar.kind === 'ours' ? ' font-weight="600"' : '';
    body.push(
      `<text x="${left - 8}" y="${at(middle + 4)}" font-size="12" fill="${INK}" text-anchor="end"${weight}>${xml(bar.label)}</text>`,
    );
    if (typeof bar.value !== 'number' || !Number.isFinite(bar.value)) {
      body.push(
        `<text x="${left + 4}" y="${at(middle + 4)}" font-size="11" fill="${MUTED}">not measured</text>`,
      );
      return;
    }
    const end = scale(Math.max(bar.value, 0));
    body.push(
      `<rect x="${left}" y="${at(y + 4)}" width="${at(end - left)}" height="${row - 8}" fill="${FILL[bar.kind]}"><title>${xml(`${bar.label}: ${shortNumber(bar.value)} ${spec.unit}`)}</title></rect>`,
    );
    let labelX = end;
    if (bar.low !== undefined && bar.high !== undefined && bar.high > bar.low) {
      const low = scale(bar.low);
      const high = scale(bar.high);
      body.push(
        `<line x1="${at(low)}" y1="${at(middle)}" x2="${at(high)}" y2="${at(middle)}" stroke="${INK}"/>`,
        `<line x1="${at(low)}" y1="${at(middle - 4)}" x2="${at(low)}" y2="${at(middle + 4)}" stroke="${INK}"/>`,
        `<line x1="${at(high)}" y1="${at(middle - 4)}" x2="${at(high)}" y2="${at(middle + 4)}" stroke="${INK}"/>`,
      );
      labelX = Math.max(end, high);
    }
    if (bar.target !== undefined) {
      const x = scale(bar.target);
      body.push(
        `<line x1="${at(x)}" y1="${at(y + 1)}" x2="${at(x)}" y2="${at(y + row - 1)}" stroke="${INK}" stroke-width="2" stroke-dasharray="3 2"><title>${xml(`wanted: ${shortNumber(bar.target)}`)}</title></line>`,
      );
      labelX = Math.max(labelX, x);
    }
    body.push(
      `<text x="${at(labelX + 6)}" y="${at(middle + 4)}" font-size="11" fill="${INK}">${xml(shortNumber(bar.value))}</text>`,
    );
  });
  const kinds = (['ours', 'peer', 'floor'] as const).filter((kind) =>
    spec.bars.some((bar) => bar.kind === kind),
  );
  kinds.forEach((kind, index) => {
    const x = left + index * 90;
    body.push(
      `<rect x="${x}" y="${plotBottom + 28}" width="12" height="12" fill="${FILL[kind]}"/>`,
      `<text x="${x + 17}" y="${plotBottom + 38}" font-size="12" fill="${INK}">${LEGEND[kind]}</text>`,
    );
  });
  const marks = [
    'bars: medians',
    ...(spec.bars.some((bar) => bar.low !== undefined) ? ['whiskers: min–max over the runs'] : []),
    ...(spec.bars.some((bar) => bar.target !== undefined) ? ['dashed: the target'] : []),
  ];
  return frame(
    plotBottom + 50,
    spec.title,
    [`${spec.unit}, ${spec.better} is better`, marks.join(' · ')],
    body,
  );
}

function renderLines(spec: LineChart): string {
  const points = spec.series.flatMap((series) => series.points).filter(([x, y]) => isFinite2(x, y));
  if (points.length === 0) throw new Error(`chart '${spec.title}' has no points`);
  if (spec.xLog && points.some(([x]) => x <= 0))
    throw new Error(`chart '${spec.title}': a log axis needs x > 0`);
  const left = 72;
  const right = WIDTH - 24;
  const top = 64;
  const bottom = 330;
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y).concat(spec.reference ? [spec.reference.y] : []);
  const yTicks = niceTicks(Math.max(...ys));
  const yMax = yTicks.at(-1) as number;
  const body: string[] = [];
  let xScale: (x: number) => number;
  let xTicks: number[];
  if (spec.xLog) {
    const low = Math.floor(Math.log10(Math.min(...xs)));
    const high = Math.max(Math.ceil(Math.log10(Math.max(...xs))), low + 1);
    xTicks = Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
    xScale = (x) => left + ((Math.log10(x) - low) / (high - low)) * (right - left);
  } else {
    xTicks = niceTicks(Math.max(...xs), 6, Math.min(0, ...xs));
    const first = xTicks[0] as number;
    const last = xTicks.at(-1) as number;
    xScale = (x) => left + ((x - first) / (last - first)) * (right - left);
  }
  const yScale = (y: number) => bottom - (y / yMax) * (bottom - top);
  for (const tick of yTicks) {
    const y = yScale(tick);
    body.push(
      `<line x1="${left}" y1="${at(y)}" x2="${right}" y2="${at(y)}" stroke="${GRID}"/>`,
      `<text x="${left - 6}" y="${at(y + 4)}" font-size="11" fill="${MUTED}" text-anchor="end">${xml(shortNumber(tick))}</text>`,
    );
  }
  for (const tick of xTicks) {
    const x = xScale(tick);
    body.push(
      `<line x1="${at(x)}" y1="${top}" x2="${at(x)}" y2="${bottom}" stroke="${GRID}"/>`,
      `<text x="${at(x)}" y="${bottom + 16}" font-size="11" fill="${MUTED}" text-anchor="middle">${xml(shortNumber(tick))}</text>`,
    );
  }
  body.push(
    `<text x="${at((left + right) / 2)}" y="${bottom + 36}" font-size="12" fill="${INK}" text-anchor="middle">${xml(spec.xLabel)}</text>`,
    `<text x="16" y="${at((top + bottom) / 2)}" font-size="12" fill="${INK}" text-anchor="middle" transform="rotate(-90 16 ${at((top + bottom) / 2)})">${xml(spec.yLabel)}</text>`,
  );
  if (spec.reference) {
    const y = yScale(spec.reference.y);
    body.push(
      `<line x1="${left}" y1="${at(y)}" x2="${right}" y2="${at(y)}" stroke="${MUTED}" stroke-dasharray="6 4"/>`,
      `<text x="${right - 4}" y="${at(y - 6)}" font-size="11" fill="${MUTED}" text-anchor="end">${xml(spec.reference.label)}</text>`,
    );
  }
  spec.series.forEach((series, index) => {
    const colour = SERIES[index % SERIES.length] as string;
    const drawn = series.points.filter(([x, y]) => isFinite2(x, y)).sort(([a], [b]) => a - b);
    if (drawn.length > 0) {
      const path = drawn.map(([x, y]) => `${at(xScale(x))},${at(yScale(y))}`).join(' ');
      body.push(
        `<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"><title>${xml(series.name)}</title></polyline>`,
      );
      if (drawn.length <= 12) {
        for (const [x, y] of drawn) {
          body.push(`<circle cx="${at(xScale(x))}" cy="${at(yScale(y))}" r="3" fill="${colour}"/>`);
        }
      }
    }
    // The legend under the axis, two columns.
    const legendX = left + (index % 2) * ((right - left) / 2);
    const legendY = bottom + 58 + Math.floor(index / 2) * 20;
    body.push(
      `<line x1="${at(legendX)}" y1="${legendY}" x2="${at(legendX + 20)}" y2="${legendY}" stroke="${colour}" stroke-width="3"/>`,
      `<text x="${at(legendX + 26)}" y="${legendY + 4}" font-size="12" fill="${INK}">${xml(series.name)}</text>`,
    );
  });
  return frame(bottom + 60 + Math.ceil(spec.series.length / 2) * 20, spec.title, [], body);
}

function isFinite2(x: number, y: number): boolean {
  return Number.isFinite(x) && Number.isFinite(y);
}

/** A cumulative distribution: for each sample (sorted), the share of samples at or below it, in %. */
export function cumulative(samples: readonly number[]): Array<[number, number]> {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.map((value, index) => [value, ((index + 1) / sorted.length) * 100]);
}
