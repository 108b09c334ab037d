// A horizontal bar chart as plain inline SVG: the HTML report must open anywhere, offline,
// with no scripts or external assets.

export interface Bar {
  label: string;
  value: number;
  /** Printed at the end of the bar. */
  text: string;
  color: string;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const LABEL_W = 190;
const BAR_H = 22;
const GAP = 8;
const TEXT_W = 190;

export function barChart(title: string, bars: readonly Bar[], width = 720): string {
  const plot = width - LABEL_W - TEXT_W;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const top = 24;
  const height = top + bars.length * (BAR_H + GAP);
  const rows = bars.map((b, i) => {
    const y = top + i * (BAR_H + GAP);
    const w = Math.max(1, (b.value / max) * plot);
    return (
      `<text x="${LABEL_W - 8}" y="${y + BAR_H * 0.7}" text-anchor="end">${escapeXml(b.label)}</text>` +
      `<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" rx="3" fill="${b.color}"><title>${escapeXml(`${b.label}: ${b.text}`)}</title></rect>` +
      `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H * 0.7}">${escapeXml(b.text)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="system-ui, sans-serif" font-size="13">` +
    `<text x="0" y="15" font-weight="600">${escapeXml(title)}</text>${rows.join('')}</svg>`
  );
}
