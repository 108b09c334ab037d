// Response framing is ours, not the application's: Content-Length and Transfer-Encoding set from
// PHP are replaced by what is really sent, so a wrong or malformed value can never make a
// client read the next response on the connection out of the body of this one (desync).

/** HTTP/1 connection headers, forbidden in HTTP/2 (RFC 9113 §8.2.2); Node refuses the whole head
 * over them, so they are dropped, as Go's HTTP/2 server does. */
const H1_ONLY = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** The flat [name, value, …] list without the headers HTTP/2 forbids. */
export function forHttp2(list: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) if (!H1_ONLY.has(list[i]!.toLowerCase())) out.push(list[i]!, list[i + 1]!);
  return out;
}

/** Statuses that never carry a body (RFC 9110 §6.4.1): no Content-Length either. */
export function statusHasNoBody(status: number): boolean {
  return (status >= 100 && status < 200) || status === 204 || status === 304;
}

export interface FramingResult {
  /** The head to write, framing headers replaced. */
  headers: string[];
  /** What the application set that was dropped or corrected (for a log line), or null. */
  dropped: string | null;
}

/**
 * headers: the flat [name, value, …] list from PHP, which becomes the result (changed in
 * place: no second list per response). bodyLength: the whole body's size when the response is
 * complete in this frame, undefined when it streams (Node then chunks it).
 * isHead: the request was HEAD, where the application's Content-Length describes the GET it
 * stands for and is kept when well formed (Go keeps it too).
 */
export function frameHeaders(headers: string[], status: number, isHead: boolean, bodyLength: number | undefined): FramingResult {
  let lengths: string[] | undefined;
  let dropped: string | null = null;
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') (lengths ??= []).push(value);
    else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') dropped = `Transfer-Encoding: ${value}`;
    else {
      if (kept !== i) {
        headers[kept] = name;
        headers[kept + 1] = value;
      }
      kept += 2;
    }
  }
  if (kept !== headers.length) headers.length = kept;
  let length: string | undefined;
  if (statusHasNoBody(status)) {
    length = undefined;
  } else if (isHead && lengths !== undefined && lengths.every((v) => /^\d{1,15}$/.test(v) && v === lengths[0])) {
    length = lengths[0];
  } else if (bodyLength !== undefined) {
    length = String(bodyLength);
  }
  if (lengths !== undefined && (lengths.length > 1 || lengths[0] !== length)) {
    dropped = `${dropped ? dropped + ', ' : ''}Content-Length: ${lengths.join(', ')}`;
  }
  if (length !== undefined) headers.push('Content-Length', length);
  return { headers, dropped };
}
