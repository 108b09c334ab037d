// The engine and its report formats, loaded on demand by `phpasync bench`.

export { runBench } from './engine.js';
export { formatHtml } from './html.js';
export { formatTable } from './table.js';
