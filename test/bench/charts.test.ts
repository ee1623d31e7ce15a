/**
 * The benchmark charts (bench/lib/charts.ts): well-formed SVG, bars and points placed in proportion to
 * the figures, labels escaped, and unmeasured variants said rather than drawn as zero.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Window } from 'happy-dom';
import { cumulative, niceTicks, renderChart, shortNumber } from '../../bench/lib/charts.js';

function parse(svg: string): Document {
  const window = new Window();
  const document = new window.DOMParser().parseFromString(svg, 'image/svg+xml') as unknown as Document;
  assert.equal(document.querySelector('parsererror'), null, 'the SVG parses');
  assert.equal(document.documentElement.tagName.toLowerCase(), 'svg');
  return document;
}

const number = (element: Element, name: string) => Number(element.getAttribute(name));

test('bars: widths in proportion to the values, whiskers at min and max, keycard in its own colour', () => {
  const svg = renderChart({
    kind: 'bars',
    title: 'Requests <per> second & more',
    unit: 'requests/s',
    better: 'higher',
    bars: [
      { label: 'node:http floor', value: 40_000, kind: 'floor' },
      { label: 'keycard "serve"', value: 20_000, low: 18_000, high: 22_000, kind: 'ours' },
      { label: 'peer', value: 5_000, low: 4_000, high: 6_000, kind: 'peer' },
    ],
  });
  const document = parse(svg);
  assert.equal(document.querySelector('title')?.textContent, 'Requests <per> second & more');
  // The bars are the rects with a tooltip (the others: the background and the legend's swatches).
  const bars = Array.from(document.querySelectorAll('rect')).filter((rect) => rect.querySelector('title'));
  assert.equal(bars.length, 3);
  const [floor, ours, peer] = bars.map((bar) => number(bar, 'width')) as [number, number, number];
  assert.ok(Math.abs(floor / ours - 2) < 0.01, `${floor} is twice ${ours}`);
  assert.ok(Math.abs(ours / peer - 4) < 0.01, `${ours} is four times ${peer}`);
  const fills = bars.map((bar) => bar.getAttribute('fill'));
  assert.equal(new Set(fills).size, 3, 'keycard, peers and floors each have their colour');
  const legend = Array.from(document.querySelectorAll('text')).map((text) => text.textContent);
  for (const name of ['keycard', 'peers', 'floors']) assert.ok(legend.includes(name), `legend names ${name}`);
  // Three lines per whisker (the span and its two ends), for the two bars that have a spread.
  const whiskers = Array.from(document.querySelectorAll('line')).filter(
    (line) => line.getAttribute('stroke') === '#111827',
  );
  assert.equal(whiskers.length, 6);
  const span = whiskers[0] as Element;
  const x = (value: number) => number(bars[0] as Element, 'x') + (value / 40_000) * floor;
  assert.ok(Math.abs(number(span, 'x1') - x(18_000)) < 0.2 && Math.abs(number(span, 'x2') - x(22_000)) < 0.2);
  assert.match(svg, /keycard &quot;serve&quot;/);
  assert.doesNotMatch(svg, /<per>/, 'text is escaped');
});

test('bars: a variant not measured says so instead of drawing a zero', () => {
  const document = parse(
    renderChart({
      kind: 'bars',
      title: 't',
      unit: 'µs',
      better: 'lower',
      bars: [
        { label: 'measured', value: 30, kind: 'ours' },
        { label: 'skipped', value: Number.NaN, kind: 'peer' },
      ],
    }),
  );
  assert.equal(
    Array.from(document.querySelectorAll('rect')).filter((rect) => rect.querySelector('title')).length,
    1,
    'one bar drawn',
  );
  assert.ok(
    Array.from(document.querySelectorAll('text')).some((text) => text.textContent === 'not measured'),
  );
  assert.throws(
    () => renderChart({ kind: 'bars', title: 'empty', unit: 'µs', better: 'lower', bars: [] }),
    /no bars/,
  );
});

test('lines: a log axis puts each decade the same distance apart, and a flat series draws flat', () => {
  const document = parse(
    renderChart({
      kind: 'lines',
      title: 'p99 against stored sessions',
      xLabel: 'sessions',
      yLabel: 'µs',
      xLog: true,
      series: [
        {
          name: 'flat',
          points: [
            [1e6, 50],
            [1e4, 50],
            [1e5, 50],
          ],
        },
        {
          name: 'growing',
          points: [
            [1e4, 10],
            [1e5, 20],
            [1e6, 40],
          ],
        },
      ],
    }),
  );
  const [flat, growing] = Array.from(document.querySelectorAll('polyline')).map((line) =>
    (line.getAttribute('points') as string).split(' ').map((pair) => pair.split(',').map(Number)),
  ) as [number[][], number[][]];
  assert.equal(new Set(flat.map(([, y]) => y)).size, 1, 'the same y for equal values');
  const xs = flat.map(([x]) => x as number);
  assert.deepEqual(
    [...xs].sort((a, b) => a - b),
    xs,
    'drawn in x order',
  );
  assert.ok(Math.abs((xs[1] as number) - (xs[0] as number) - ((xs[2] as number) - (xs[1] as number))) < 0.2);
  const ys = growing.map(([, y]) => y as number);
  assert.ok(
    (ys[0] as number) > (ys[1] as number) && (ys[1] as number) > (ys[2] as number),
    'larger values higher up',
  );
  assert.throws(
    () =>
      renderChart({
        kind: 'lines',
        title: 'bad',
        xLabel: 'x',
        yLabel: 'y',
        xLog: true,
        series: [{ name: 's', points: [[0, 1]] }],
      }),
    /log axis/,
  );
});

test('ticks, numbers and cumulative shares', () => {
  assert.deepEqual(niceTicks(37), [0, 10, 20, 30, 40]);
  assert.deepEqual(niceTicks(0.9), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.equal(shortNumber(1_500_000), '1.5 M');
  assert.equal(shortNumber(25_000), '25 k');
  assert.equal(shortNumber(1234), '1,234');
  assert.equal(shortNumber(0.123), '0.12');
  assert.deepEqual(cumulative([3, 1, 2, 4]), [
    [1, 25],
    [2, 50],
    [3, 75],
    [4, 100],
  ]);
});

test('bars: a target is a dashed mark at its value', () => {
  const document = parse(
    renderChart({
      kind: 'bars',
      title: 'ratios',
      unit: '×',
      better: 'higher',
      bars: [
        { label: 'met', value: 5, kind: 'ours', target: 4 },
        { label: 'missed', value: 0.5, kind: 'ours', target: 1 },
      ],
    }),
  );
  const bars = Array.from(document.querySelectorAll('rect')).filter((rect) => rect.querySelector('title'));
  const marks = Array.from(document.querySelectorAll('line')).filter((line) =>
    line.getAttribute('stroke-dasharray'),
  );
  assert.equal(marks.length, 2);
  const left = number(bars[0] as Element, 'x');
  const perUnit = number(bars[0] as Element, 'width') / 5;
  assert.ok(Math.abs(number(marks[0] as Element, 'x1') - (left + 4 * perUnit)) < 0.2, 'the first mark at 4');
  assert.ok(Math.abs(number(marks[1] as Element, 'x1') - (left + perUnit)) < 0.2, 'the second mark at 1');
});
