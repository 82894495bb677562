// Downloading an image from a URL: only http and https, only below a prefix of the operator's
// allow-list (none by default: the SSRF guard), every redirect checked the same way and at most
// maxRedirects of them, a connect/idle timeout and a size bound. Answers the body as a stream;
// knows nothing of XAPI.
import http from 'node:http';
import https from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { ApiError } from '../errors';

export interface DownloadLimits {
  /** Redirects followed (default 5). */
  maxRedirects?: number;
  /** Connect and idle timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** The largest body taken, in bytes (default 64 GiB). */
  maxBytes?: number;
}

/** The URL when it is http(s) and below an allowed prefix; 400 url_not_allowed otherwise. */
export function allowedUrl(raw: string, allow: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError(400, 'url_not_allowed', `'${raw}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ApiError(
      400,
      'url_not_allowed',
      `only http and https URLs are taken, not ${url.protocol}`,
    );
  if (url.username || url.password)
    throw new ApiError(400, 'url_not_allowed', 'URLs with credentials are not taken');
  if (!allow.some((prefix) => url.href.startsWith(prefix)))
    throw new ApiError(
      400,
      'url_not_allowed',
      `'${url.href}' is not allowed by the service's image URL allow-list`,
    );
  return url;
}

export async function download(
  start: URL,
  opts: DownloadLimits & { allow: readonly string[]; signal: AbortSignal },
): Promise<{ body: Readable; length?: number }> {
  const maxRedirects = opts.maxRedirects ?? 5;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxBytes = opts.maxBytes ?? 64 * 2 ** 30;
  let url = start;
  for (let hops = 0; ; hops++) {
    const res = await get(url, timeoutMs, opts.signal);
    const status = res.statusCode ?? 0;
    if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
      res.resume();
      if (hops >= maxRedirects)
        throw new ApiError(
          502,
          'too_many_redirects',
          `more than ${maxRedirects} redirects from '${start.href}'`,
        );
      url = allowedUrl(new URL(res.headers.location, url).href, opts.allow);
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new ApiError(502, 'url_unreachable', `'${url.href}' answered HTTP ${status}`);
    }
    const declared = Number(res.headers['content-length']);
    const length = Number.isFinite(declared) ? declared : undefined;
    if (length !== undefined && length > maxBytes) {
      res.destroy();
      throw new ApiError(
        413,
        'image_too_large',
        `the image is ${length} bytes; the bound is ${maxBytes}`,
      );
    }
    let seen = 0;
    const bound = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen > maxBytes)
          return done(new ApiError(413, 'image_too_large', `the image exceeds ${maxBytes} bytes`));
        done(null, chunk);
      },
    });
    res.once('error', (err) => bound.destroy(err));
    res.once('close', () => {
      if (!res.complete)
        bound.destroy(new ApiError(502, 'url_unreachable', `'${url.href}' ended early`));
    });
    res.pipe(bound);
    return { body: bound, ...(length !== undefined ? { length } : {}) };
  }
}

function get(url: URL, timeoutMs: number, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.get(url, { signal, timeout: timeoutMs }, (res) => {
      res.setTimeout(timeoutMs, () =>
        res.destroy(new ApiError(502, 'url_unreachable', `'${url.href}' stalled`)),
      );
      resolve(res);
    });
    req.once('timeout', () =>
      req.destroy(new ApiError(502, 'url_unreachable', `'${url.href}' timed out`)),
    );
    req.once('error', (err) =>
      reject(
        err instanceof ApiError
          ? err
          : new ApiError(
              502,
              'url_unreachable',
              `'${url.href}' could not be fetched: ${err.message}`,
            ),
      ),
    );
  });
}
