// Reads the ThreadSanitizer logs of a scripts/test-tsan.sh run and decides whether it is clean.
//   node scripts/tsan/check-reports.mjs <report dir> <repository root>
// Exit 0: no report has a frame of ours. Exit 1: at least one has (printed in full).
// Reports without a frame of ours (node, V8, libuv, libphp among themselves) are counted by
// kind and summarised, not failed: docs/tsan.md says why.
import fs from 'node:fs';
import path from 'node:path';

const [dir, root] = process.argv.slice(2);
if (!dir || !root) {
  console.error('usage: check-reports.mjs <report dir> <repository root>');
  process.exit(2);
}
const ourFrame = (l) => l.includes('phpasync.node') || l.includes(`${root}/addon/`) || l.includes(`${root}/php/`);
// A frame without its address, so the same report from two processes compares equal.
const frameKey = (l) => l.replace(/^\s+#\d+ /, '').replace(/ \(([^ )]*)\+0x[0-9a-f]+\)/, ' ($1)').replace(/0x[0-9a-f]+/g, '0x').trim();

const deadly = []; // a process the sanitizer saw die (SEGV, abort): always a failure
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^tsan\.\d+$/.test(n)).sort() : [];
const ours = new Map(); // key -> { text, count }
const others = new Map(); // kind + first frame -> count
for (const name of files) {
  const text = fs.readFileSync(path.join(dir, name), 'utf8');
  const death = /ThreadSanitizer:DEADLYSIGNAL|ERROR: ThreadSanitizer|FATAL: ThreadSanitizer/.exec(text);
  if (death) deadly.push({ name, text: text.slice(death.index, death.index + 3000) });
  for (const block of text.split(/^==================$/m)) {
    const head = /WARNING: ThreadSanitizer: ([^(\n]+)/.exec(block);
    if (!head) continue;
    const frames = block.split('\n').filter((l) => /^\s+#\d+ /.test(l));
    const kind = head[1].trim();
    // Ours when one of the racing accesses (or the mutex misuse) happens in our code: the
    // first frame past the sanitizer's interceptors of an access stack is ours. A stack that
    // only passes through our code further down (a thread's main, a call into libphp) is not.
    const accesses = block.split(/\n(?=\s{2}\S)/).filter((part) => /^\s*(Read|Write|Atomic|Previous|Mutex|Unlock|Lock)/.test(part) || part.includes('WARNING:'));
    const top = accesses.map((part) => part.split('\n').find((l) => /^\s+#\d+ /.test(l) && !l.includes('libtsan.so') && !l.includes('libsanitizer')));
    if (top.some((l) => l !== undefined && ourFrame(l))) {
      const key = `${kind}\n${frames.filter(ourFrame).map(frameKey).join('\n')}`;
      const e = ours.get(key) ?? { text: block.trim(), count: 0, files: new Set() };
      e.count++;
      e.files.add(name);
      ours.set(key, e);
    } else {
      const first = frames.find((l) => !l.includes('libtsan.so') && !l.includes('libsanitizer')) ?? frames[0];
      const k = `${kind} at ${first ? frameKey(first) : '?'}`;
      others.set(k, (others.get(k) ?? 0) + 1);
    }
  }
}
console.log(`tsan: ${files.length} report file(s); ${ours.size} distinct report(s) through our code, ${[...others.values()].reduce((a, b) => a + b, 0)} elsewhere`);
for (const [k, n] of others) console.log(`  not ours (${n}x): ${k}`);
for (const e of ours.values()) {
  console.log(`\n---- OURS (${e.count}x, in ${[...e.files].join(' ')})\n${e.text}`);
}
for (const d of deadly) console.log(`\n---- PROCESS DIED (${d.name})\n${d.text}`);
process.exit(ours.size > 0 || deadly.length > 0 ? 1 : 0);
