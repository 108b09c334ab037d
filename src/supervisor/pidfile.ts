// `run --pidfile FILE` writes the server's pid; `phpasync reload --pidfile FILE` finds the
// server there (as `nginx -s reload` does) and sends it SIGHUP.
import fs from 'node:fs';

export function writePidFile(file: string): () => void {
  fs.writeFileSync(file, `${process.pid}\n`);
  return () => {
    try {
      // Only our own: a newer server may have taken the file over.
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
}

/** The pid in `file`, or an Error saying why there is none. */
export function readPidFile(file: string): number | Error {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return new Error(`cannot read the pid file ${file}: ${(err as Error).message}`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return new Error(`${file} holds no pid: ${JSON.stringify(text.slice(0, 40))}`);
  return pid;
}
