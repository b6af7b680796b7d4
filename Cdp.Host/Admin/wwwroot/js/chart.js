// Hand-written SVG charts: a stacked bar chart (events per time bucket) and a step line (segment size over time).
// The SVG scales to its container (viewBox); colours come from CSS classes (no inline styles).
const NS = 'http://www.w3.org/2000/svg';
const H = 220, PAD = { l: 48, r: 12, t: 12, b: 28 };
/** The drawing is as wide as the window allows (text stays ~11px on a phone and on a laptop). */
let W = 640;
function measure() { W = Math.round(Math.max(300, Math.min(1100, window.innerWidth - 72))); }

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Round maximum and tick values for an axis from 0 to max. */
function ticks(max, whole = true) {
  if (max <= 0) return { top: 1, values: [0, 1] };
  const raw = whole ? Math.max(1, max / 4) : max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map(m => m * mag).find(v => v >= raw) || raw;
  const top = Math.ceil(max / step) * step;
  const values = [];
  for (let v = 0; v <= top + step / 2; v += step) values.push(Math.round(v * 1e6) / 1e6);
  return { top, values };
}

function frame(label, yMax, xLabels) {
  measure();
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet' });
  svg.append(s('title', {}, label));
  const { top, values } = ticks(yMax);
  const y = v => PAD.t + (H - PAD.t - PAD.b) * (1 - v / top);
  for (const v of values) {
    svg.append(s('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(s('text', { x: PAD.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, new Intl.NumberFormat().format(v)));
  }
  for (const { x, text, anchor } of xLabels) svg.append(s('text', { x, y: H - 8, 'text-anchor': anchor || 'middle', class: 'axis' }, text));
  return { svg, y };
}

/**
 * Stacked bars. buckets: [{ label, start: Date, values: { accepted: 3, rejected: 1 } }]; series: [{ key, name, cls }].
 */
export function barChart({ label, buckets, series, xFormat }) {
  measure();
  const totals = buckets.map(b => series.reduce((a, sr) => a + (b.values[sr.key] || 0), 0));
  const innerW = W - PAD.l - PAD.r;
  const bw = innerW / Math.max(1, buckets.length);
  const every = Math.ceil(buckets.length / Math.max(2, Math.floor(W / 110)));
  const xLabels = buckets.map((b, i) => (i % every === 0 ? { x: PAD.l + bw * i + bw / 2, text: xFormat(b.start) } : null)).filter(Boolean);
  const { svg, y } = frame(label, Math.max(...totals, 0), xLabels);
  buckets.forEach((b, i) => {
    let base = 0;
    for (const sr of series) {
      const v = b.values[sr.key] || 0;
      if (!v) continue;
      const y0 = y(base), y1 = y(base + v);
      const rect = s('rect', { x: PAD.l + bw * i + 1, width: Math.max(1, bw - 2), y: y1, height: Math.max(1, y0 - y1), class: sr.cls });
      rect.append(s('title', {}, `${xFormat(b.start)}: ${v} ${sr.name}`));
      svg.append(rect);
      base += v;
    }
  });
  return wrap(svg, series);
}

/** A step line. points: [{ at: Date, value }] ascending. */
export function stepChart({ label, points, name, cls = 'line-a', xFormat }) {
  if (!points.length) return null;
  measure();
  const t0 = points[0].at.getTime();
  const t1 = Math.max(points[points.length - 1].at.getTime(), t0 + 1);
  const innerW = W - PAD.l - PAD.r;
  const x = t => PAD.l + innerW * ((t - t0) / (t1 - t0));
  const xLabels = [
    { x: PAD.l, text: xFormat(points[0].at), anchor: 'start' },
    { x: W - PAD.r, text: xFormat(points[points.length - 1].at), anchor: 'end' },
  ];
  const { svg, y } = frame(label, Math.max(...points.map(p => p.value), 0), xLabels);
  let d = `M ${x(points[0].at.getTime())} ${y(points[0].value)}`;
  for (let i = 1; i < points.length; i++) {
    const px = x(points[i].at.getTime());
    d += ` H ${px} V ${y(points[i].value)}`;
  }
  svg.append(s('path', { d, class: `line ${cls}`, fill: 'none' }));
  const last = points[points.length - 1];
  const dot = s('circle', { cx: x(last.at.getTime()), cy: y(last.value), r: 4, class: `dot ${cls}` });
  dot.append(s('title', {}, `${last.value} ${name} now`));
  svg.append(dot);
  return wrap(svg, [{ name, cls }]);
}

function wrap(svg, series) {
  const fig = document.createElement('figure');
  fig.className = 'chart-box';
  fig.append(svg);
  const legend = document.createElement('figcaption');
  legend.className = 'legend';
  for (const sr of series) {
    const item = document.createElement('span');
    const key = s('svg', { width: 12, height: 12, 'aria-hidden': 'true' }, s('rect', { width: 12, height: 12, rx: 2, class: sr.cls }));
    item.append(key, ' ' + sr.name);
    legend.append(item);
  }
  fig.append(legend);
  return fig;
}
