// The progress bar: one line on stderr, redrawn in place, only when stderr is a terminal
// (redirected output gets one plain line per scenario instead of carriage-return noise).

export interface Progress {
  /** A scenario begins; `planned` seconds of load (warm-up included) are ahead of it. */
  begin(name: string, index: number): void;
  /** Seconds of load done in the current scenario. */
  update(elapsedS: number): void;
  end(name: string, index: number, note: string): void;
  close(): void;
}

const WIDTH = 30;

export function createProgress(totalScenarios: number, secondsPerScenario: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const total = totalScenarios * secondsPerScenario;
  let done = 0; // seconds of finished scenarios
  let current = '';
  let index = 0;
  let lastDrawn = '';

  const draw = (elapsedS: number): void => {
    const frac = total > 0 ? Math.min(1, (done + Math.min(elapsedS, secondsPerScenario)) / total) : 1;
    const filled = Math.round(frac * WIDTH);
    const line = `[${'='.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${index + 1}/${totalScenarios} ${current}`;
    if (line === lastDrawn) return;
    lastDrawn = line;
    stream.write(`\r\x1b[K${line}`);
  };

  return {
    begin(name, i) {
      current = name;
      index = i;
      if (tty) draw(0);
      else stream.write(`bench: ${name} (${i + 1}/${totalScenarios})\n`);
    },
    update(elapsedS) {
      if (tty) draw(elapsedS);
    },
    end(name, i, note) {
      done = (i + 1) * secondsPerScenario;
      if (tty) {
        stream.write(`\r\x1b[K${name}: ${note}\n`);
        lastDrawn = '';
      } else {
        stream.write(`bench: ${name}: ${note}\n`);
      }
    },
    close() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}
