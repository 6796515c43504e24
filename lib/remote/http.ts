// GETs against a static web server, the way remote silos need them: raw bytes exactly as stored (no
// content decoding: a loose object is named .gz and IS gzip data, so `Accept-Encoding: identity` and any
// Content-Encoding the server adds anyway is refused), Range requests, keep-alive connections, a bounded
// number of requests in flight, an idle timeout that also catches a body that stalls halfway, and
// retries with backoff on 5xx and dropped connections. A 404 is a value (undefined), not an error.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { MedoError } from '../errors.js';

export interface HttpOptions {
  /** Requests in flight at once (default 8). */
  parallel?: number;
  /** Milliseconds without any progress (connect, headers or body bytes) before a request fails (default 30 s). */
  timeoutMs?: number;
  /** Further attempts after a 5xx or a dropped connection (default 2); a timeout is not retried. */
  retries?: number;
  /** First backoff delay in ms, doubled per retry (default 200). */
  backoffMs?: number;
  /** Largest body accepted, bytes (default 2 GiB - 1). */
  maxBodyBytes?: number;
}

export interface GetOptions {
  /** Inclusive byte range; `end` undefined means to the end of the file. */
  range?: { start: number; end?: number };
  /** Bypass caches on the way (proxies, CDNs): `Cache-Control: no-cache` and a unique query string. */
  noCache?: boolean;
}

export interface HttpStats {
  requests: number;
  bytes: number;
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Thrown for every HTTP failure; `data.status` is set when the server answered. */
function httpError(message: string, url: string, extra: Record<string, unknown> = {}, cause?: unknown): MedoError {
  return new MedoError('ERR_REMOTE', message, { path: url, url, ...extra }, { cause });
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, bytes: 0 };
  private readonly parallel: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBodyBytes: number;
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https = new HttpsAgent({ keepAlive: true });
  private active = 0;
  private readonly waiting: { since: number; wake: () => void; fail: () => void }[] = [];
  private bust = 0;
  /** performance.now() of the last sign of life from any server: a response's headers or body bytes. */
  private lastProgress = 0;

  constructor(options: HttpOptions = {}) {
    const { parallel = 8, timeoutMs = 30_000, retries = 2, backoffMs = 200, maxBodyBytes = 2 ** 31 - 1 } = options;
    if (!(Number.isInteger(parallel) && parallel >= 1)) throw new RangeError(`HttpClient parallel must be an integer >= 1, got ${parallel}`);
    if (!(timeoutMs > 0)) throw new RangeError(`HttpClient timeoutMs must be > 0, got ${timeoutMs}`);
    if (!(Number.isInteger(retries) && retries >= 0)) throw new RangeError(`HttpClient retries must be an integer >= 0, got ${retries}`);
    this.parallel = parallel;
    this.timeoutMs = timeoutMs;
    this.retries = retries;
    this.backoffMs = backoffMs;
    this.maxBodyBytes = maxBodyBytes;
  }

  /** The body, or undefined on 404/410. Throws ERR_REMOTE on anything else that is not success. */
  async get(url: string, options: GetOptions = {}): Promise<Buffer | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.limited(() => this.once(url, options), url);
      } catch (e) {
        const retry = (e as MedoError).data?.retryable === true && attempt < this.retries;
        if (!retry) throw e;
        await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** attempt));
      }
    }
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  /** Runs `job` once fewer than `parallel` requests are in flight. */
  private async limited<T>(job: () => Promise<T>, url: string): Promise<T> {
    const since = performance.now();
    while (this.active >= this.parallel) {
      await new Promise<void>((wake, fail) => this.waiting.push({
        since, wake,
        fail: () => fail(httpError(`${url}: not sent: a request ahead of it got no answer for ${this.timeoutMs} ms, and none has since (server down, or stalled?)`,
          url, { timeout: true })),
      }));
    }
    this.active++;
    try {
      return await job();
    } finally {
      this.active--;
      this.waiting.shift()?.wake();
    }
  }

  /**
   * A request timed out. Those waiting for a slot that were queued after the last sign of life fail now,
   * unsent: otherwise each would wait for a slot and then a timeout of its own, and readers queued
   * behind `parallel` stalled requests would get their error only after several timeouts.
   */
  private stalled(): void {
    const doomed = this.waiting.filter((w) => w.since > this.lastProgress);
    if (doomed.length === 0) return;
    this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((w) => w.since <= this.lastProgress));
    for (const w of doomed) w.fail();
  }

  private once(url: string, options: GetOptions): Promise<Buffer | undefined> {
    const target = new URL(url);
    if (options.noCache) target.searchParams.set('medo-nocache', `${process.pid}-${Date.now()}-${++this.bust}`);
    const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'medo' };
    if (options.noCache) Object.assign(headers, { 'cache-control': 'no-cache', pragma: 'no-cache' });
    const { range } = options;
    if (range !== undefined) headers.range = `bytes=${range.start}-${range.end ?? ''}`;
    const isHttps = target.protocol === 'https:';
    const request = isHttps ? httpsRequest : httpRequest;
    this.stats.requests++;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: MedoError | undefined, body?: Buffer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err !== undefined) {
          req.destroy();
          reject(err);
        } else resolve(body);
      };
      let timer: NodeJS.Timeout;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          finish(httpError(`${url}: no response for ${this.timeoutMs} ms (server down, or stalled mid-body?)`, url, { timeout: true }));
          this.stalled();
        }, this.timeoutMs);
      };
      arm();
      const req = request(target, { method: 'GET', headers, agent: isHttps ? this.https : this.http }, (res: IncomingMessage) => {
        arm();
        this.lastProgress = performance.now();
        const status = res.statusCode ?? 0;
        if (status === 404 || status === 410) {
          res.resume();
          res.on('end', () => finish(undefined, undefined));
          return;
        }
        const ok = status === 200 || (status === 206 && range !== undefined);
        if (!ok) {
          res.resume();
          return finish(httpError(`${url}: HTTP ${status}${status === 416 ? ' (range not satisfiable: is the pack list stale?)' : ''}`, url,
            { status, retryable: status >= 500 }));
        }
        const encoding = res.headers['content-encoding'];
        if (encoding !== undefined && encoding !== 'identity') {
          res.resume();
          return finish(httpError(`${url}: the server sent Content-Encoding: ${encoding}; silo files must be served as they are (see docs/remote.md)`,
            url, { status }));
        }
        let skip = 0;
        let limit = this.maxBodyBytes;
        if (range !== undefined) {
          if (status === 206) {
            const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
            if (m === null || Number(m[1]) !== range.start) {
              res.resume();
              return finish(httpError(`${url}: answered a range request with Content-Range ${JSON.stringify(res.headers['content-range'])}`, url, { status }));
            }
          } else skip = range.start; // the server ignored Range: keep our slice of the whole file
          if (range.end !== undefined) limit = range.end - range.start + 1;
        }
        const chunks: Buffer[] = [];
        let seen = 0;
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          arm();
          this.lastProgress = performance.now();
          this.stats.bytes += chunk.length;
          let c = chunk;
          if (seen < skip) c = c.subarray(Math.min(c.length, skip - seen));
          seen += chunk.length;
          if (c.length === 0) return;
          if (kept + c.length > limit) {
            if (range === undefined) return finish(httpError(`${url}: body exceeds ${this.maxBodyBytes} bytes`, url, { status }));
            c = c.subarray(0, limit - kept);
          }
          chunks.push(c);
          kept += c.length;
          if (range !== undefined && status === 200 && kept >= limit) {
            finish(undefined, Buffer.concat(chunks));
            req.destroy(); // the rest of a file whose server ignored Range is not wanted
          }
        });
        const declared = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
        res.on('end', () => {
          if (declared !== undefined && seen !== declared) {
            return finish(httpError(`${url}: connection dropped mid-body after ${seen} of ${declared} bytes`, url, { status, retryable: true }));
          }
          finish(undefined, Buffer.concat(chunks));
        });
        res.on('aborted', () => finish(httpError(`${url}: connection dropped mid-body after ${seen} bytes`, url, { status, retryable: true })));
        res.on('error', (e) => finish(httpError(`${url}: ${e.message}`, url, { status, retryable: true }, e)));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        finish(httpError(`${url}: ${e.message}`, url, { retryable: RETRYABLE_CODES.has(e.code ?? '') || e.message === 'socket hang up' }, e));
      });
      req.end();
    });
  }
}
