// The HTML report's stylesheet, inlined into the page. Rows are a grid (label | plot | value)
// that folds to label and value over a full-width plot on narrow screens. Figures never wrap
// and use tabular digits so columns of numbers line up.

const C = { phpasync: '#2f6fdf', fpm: '#e07b39', fastify: '#98a2ad', bound: '#e0a030', rejected: '#d9534f', grid: '#e6e9ed', ink: '#1d2430', mute: '#5b6573' };

export const REPORT_CSS = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1000px;margin:1.5em auto;padding:0 1em;color:${C.ink}}
h1{font-size:1.5em;margin:.2em 0 .6em}h2{font-size:1.15em;margin:0 0 .4em}
code{background:#f1f3f5;padding:.1em .3em;border-radius:3px;overflow-wrap:anywhere}
.fine{color:${C.mute};font-size:13px}
.group{border-top:1px solid ${C.grid};padding:1em 0 .5em;margin-top:1em}
.about{list-style:none;padding:0;margin:0 0 .6em;font-size:13px;color:${C.mute}}.about li{margin:.15em 0}.about b{color:${C.ink};white-space:nowrap}
.about small.skipped,.about small.failed{color:${C.rejected}}
.chart{margin:.9em 0 1.1em}
.chart figcaption{font-size:13px;margin-bottom:.35em}.chart figcaption span{color:${C.mute}}
.headline{background:#f7f9fc;border:1px solid ${C.grid};border-radius:6px;padding:.7em .9em .4em}
.headline figcaption b{font-size:15px}
.headline .row{grid-template-columns:17rem minmax(0,1fr) 4.5rem}
.row{display:grid;grid-template-columns:12.5rem minmax(0,1fr) 7.5rem;gap:.6rem;align-items:center;min-height:24px;margin:3px 0}
.lab{text-align:right;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:13px}
.lab small{color:${C.mute}}
.val{white-space:nowrap;font-variant-numeric:tabular-nums;font-size:13px}
.plot{position:relative;height:20px}
.plot i{position:absolute;display:block}
.grid{top:-2px;bottom:-3px;width:1px;background:${C.grid}}
.mark{top:-4px;bottom:-5px;width:2px;margin-left:-1px;background:${C.ink};opacity:.55;z-index:2}
.bar{left:0;top:3px;height:14px;border-radius:0 2px 2px 0;background:var(--c);opacity:.85}
.bar.from{border-radius:2px}.bar.below{opacity:.55}
.whisker{top:9px;height:2px;background:${C.ink};z-index:3}
.whisker::before,.whisker::after{content:"";position:absolute;top:-5px;width:2px;height:12px;background:${C.ink}}
.whisker::before{left:-1px}.whisker::after{right:-1px}
.round{top:5px;width:10px;height:10px;margin-left:-5px;border-radius:50%;background:#fff;border:2px solid ${C.ink};z-index:4}
.tail{top:9px;height:2px;background:var(--c)}
.box{top:3px;height:14px;background:var(--c);opacity:.85;border-radius:2px}
.p99,.p999{top:4px;width:12px;height:12px;margin-left:-6px;border-radius:50%;background:var(--c);border:2px solid #fff;z-index:2}
.p999{width:4px;margin-left:-2px;border:0;border-radius:1px;height:14px;top:3px}
.axis{min-height:18px;margin-top:0}.axis .plot{height:18px;border-top:1px solid ${C.mute}}
.tick{position:absolute;top:2px;transform:translateX(-50%);font-size:11px;color:${C.mute};white-space:nowrap;font-variant-numeric:tabular-nums}
.tick.first{transform:none}.tick.last{transform:translateX(-100%)}
.unit{font-size:11px;color:${C.mute}}
.k-phpasync{--c:${C.phpasync}}.k-nginx-fpm{--c:${C.fpm}}.k-fastify{--c:${C.fastify}}.k-bound{--c:${C.bound}}.k-rejected{--c:${C.rejected}}
.k-bound .bar{background:repeating-linear-gradient(135deg,${C.bound} 0 4px,#fff 4px 7px);opacity:1;outline:1px solid ${C.bound}}
.key{display:inline-block;width:.8em;height:.8em;border-radius:2px;background:var(--c);margin-right:.35em;vertical-align:-.05em}
.legend{font-size:13px;color:${C.mute}}.legend span{white-space:nowrap;margin-right:1em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:.4em 0}
th,td{padding:3px 8px;border-bottom:1px solid ${C.grid};text-align:left;white-space:nowrap}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.notes{white-space:normal;min-width:16em;color:${C.mute}}
@media (max-width:600px){
  body{padding:0 .6em}
  .row{grid-template-columns:minmax(0,1fr) auto;grid-template-areas:"lab val" "plot plot";gap:0 .5rem;margin:2px 0 6px}
  .lab{grid-area:lab;text-align:left}.val{grid-area:val;text-align:right}.plot{grid-area:plot}
  .axis{grid-template-areas:"plot plot"}.axis .lab,.axis .val{display:none}
  .headline{padding:.6em .6em .3em}
  .headline .row{grid-template-columns:minmax(0,1fr) auto}
  th,td{padding:3px 4px;font-size:12px}.key{margin-right:.2em}
}
`;
