import { http } from '@google-cloud/functions-framework';

/** How many requests reached the echo function. */
export const echoHits = { count: 0 };

/**
 * The upstream of the edge benchmark (bench/edge.ts: nginx's own cost, without a function's work; the
 * tests run the real functions behind nginx instead): answers JSON with the method, URL, headers and body size it
 * received. `/notifications/stream` answers Server-Sent Events, two events 300 ms apart.
 * `?pad=<n>` adds n bytes of padding (compression checks).
 */
http('edge-echo', (req, res) => {
  echoHits.count += 1;
  const url = new URL(req.url ?? '/', 'http://echo.local');
  if (url.pathname === '/notifications/stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('data: one\n\n');
    setTimeout(() => res.end('data: two\n\n'), 300);
    return;
  }
  let bodyBytes = 0;
  req.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
  });
  req.on('end', () => {
    const pad = 'x'.repeat(Number(url.searchParams.get('pad') ?? 0));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyBytes, pad }));
  });
});
