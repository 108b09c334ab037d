// Number formats shared by the text table and the HTML report.

export function fmtRps(n: number | undefined): string {
  return n === undefined ? '—' : Math.round(n).toLocaleString('en-US');
}

export function fmtMs(n: number | undefined): string {
  if (n === undefined) return '—';
  const digits = n < 10 ? 2 : n < 100 ? 1 : 0;
  return `${n.toFixed(digits)} ms`;
}

export function fmtRatio(n: number): string {
  return `${n.toFixed(2)}×`;
}

export function fmtPct(n: number): string {
  return `${(n * 100).toFixed(1)}%`;
}

export function fmtInt(n: number | undefined): string {
  return n === undefined ? '—' : n.toLocaleString('en-US');
}
