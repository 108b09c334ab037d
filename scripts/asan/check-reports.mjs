// Reads the sanitizer logs of a scripts/test-asan.sh run and decides whether the run is clean.
//   node scripts/asan/check-reports.mjs <report dir> <repository root>
// Exit 0: nothing of ours was reported. Exit 1: a memory error, a UBSan finding, a sanitizer
// failure, or a leak whose allocation stack has a frame of our addon.
// Leaks whose stack has no frame of ours (node, V8, libphp on their own) are listed, not counted:
// docs/asan.md says why.
import fs from 'node:fs';
import path from 'node:path';

const [dir, root] = process.argv.slice(2);
if (!dir || !root) {
  console.error('usage: check-reports.mjs <report dir> <repository root>');
  process.exit(2);
}

// Findings already reported and waiting for a fix in a file this harness does not own. Each
// matches one allocation site exactly (allocator frame #0, our frame #1); it is still printed,
// as KNOWN, but does not fail the run. Remove an entry with its fix. docs/asan.md lists them.
const known = [];
const knownAs = (frames) => known.find((k) => k.frames.every((re, i) => frames[i] !== undefined && re.test(frames[i])));

// V8 grows its own heap bookkeeping (descriptor arrays, slot sets, maps) while an N-API call of
// ours sets a property or wraps an object; V8 never tears its heap down at exit, so LeakSanitizer
// reports those blocks under our frame. Counted apart: the block was allocated by V8's internals
// (frame #1) inside an napi_* call. What N-API itself allocates for us (a reference, a wrap:
// v8impl frames) is not matched and still counts as ours.
const v8HeapUnderNapi = (frames) =>
  frames[1] !== undefined && / in v8::internal::/.test(frames[1]) && frames.some((f) => / in napi_\w+ /.test(f));

const ourFrame = (line) =>
  line.includes('phpasync.node') || line.includes(`${root}/addon/`) || line.includes(`${root}/php/`);
// A frame without its address, so that the same stack in two processes compares equal.
const frameKey = (l) => l.replace(/^\s+#\d+ 0x[0-9a-f]+ /, '').replace(/\+0x[0-9a-f]+\)/, ')').trim();

const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^(asan|ubsan)\.\d+$/.test(n)).sort() : [];
const errors = []; // { file, text }
const leaks = new Map(); // key -> { kind, ours, bytes, objects, files:Set, frames }
const warnings = new Map(); // message -> count
let processes = 0;

for (const name of files) {
  const file = path.join(dir, name);
  const text = fs.readFileSync(file, 'utf8');
  processes++;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const leak = /^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:/.exec(line);
    if (leak) {
      let j = i + 1;
      while (j < lines.length && /^\s+#\d+ /.test(lines[j])) j++;
      const frames = lines.slice(i + 1, j);
      const key = `${leak[1]}\n${frames.map(frameKey).join('\n')}`;
      const entry = leaks.get(key) ?? {
        kind: leak[1],
        ours: frames.some(ourFrame) && !v8HeapUnderNapi(frames),
        bytes: 0,
        objects: 0,
        files: new Set(),
        frames,
      };
      entry.bytes += Number(leak[2]);
      entry.objects += Number(leak[3]);
      entry.files.add(name);
      leaks.set(key, entry);
      i = j - 1;
      continue;
    }
    if (/runtime error:/.test(line)) {
      // UBSan: the message line, then its stack.
      let j = i + 1;
      while (j < lines.length && /^\s+#\d+ /.test(lines[j])) j++;
      errors.push({ file: name, text: lines.slice(i, j).join('\n') });
      i = j - 1;
      continue;
    }
    const m = /^==\d+==(ERROR|WARNING): (.*)$/.exec(line);
    if (m && !/LeakSanitizer: detected memory leaks/.test(m[2])) {
      if (m[1] === 'WARNING') {
        const msg = m[2].replace(/0x[0-9a-f]+/g, '0x…').replace(/\d{4,}/g, 'N');
        warnings.set(msg, (warnings.get(msg) ?? 0) + 1);
        continue;
      }
      // A memory error or a sanitizer failure: keep the report up to its end.
      let j = i + 1;
      while (j < lines.length && !/^==\d+==ABORTING/.test(lines[j])) j++;
      errors.push({ file: name, text: lines.slice(i, Math.min(j + 1, i + 80)).join('\n') });
      i = j;
    }
  }
}

for (const l of leaks.values()) l.known = l.ours ? knownAs(l.frames) : undefined;
const ours = [...leaks.values()].filter((l) => l.ours && !l.known);
const knownLeaks = [...leaks.values()].filter((l) => l.known);
const foreign = [...leaks.values()].filter((l) => !l.ours);
const show = (l) =>
  `${l.kind} leak, ${l.bytes} bytes in ${l.objects} objects, in ${l.files.size} process(es) (${[...l.files].slice(0, 3).join(', ')}${l.files.size > 3 ? ', …' : ''}):\n${l.frames.slice(0, 14).join('\n')}`;

console.log(`\n== sanitizer reports: ${files.length} log file(s) in ${dir}`);
for (const e of errors) console.log(`\n-- ERROR (${e.file}):\n${e.text}`);
for (const l of ours) console.log(`\n-- LEAK through our code: ${show(l)}`);
for (const l of knownLeaks) console.log(`\n-- KNOWN (reported, not counted: ${l.known.what}): ${show(l)}`);
if (foreign.length) {
  console.log(`\n-- ${foreign.length} leak stack(s) with no frame of ours (not counted; see docs/asan.md):`);
  for (const l of foreign) console.log(`\n${show(l)}`);
}
for (const [msg, n] of warnings) console.log(`\n-- WARNING x${n}: ${msg}`);
console.log(
  `\n== summary: ${errors.length} error report(s), ${ours.length} leak stack(s) through our code, ` +
    `${knownLeaks.length} known, ${foreign.length} other leak stack(s), ${[...warnings.values()].reduce((a, b) => a + b, 0)} warning(s), ` +
    `${processes} process log(s)`,
);
process.exit(errors.length || ours.length ? 1 : 0);
