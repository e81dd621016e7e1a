// The relying party's web server: the page at the client's redirect URI
// (http://127.0.0.1:9/cb). It listens on a free port; chromium is started with
// `--host-resolver-rules=MAP 127.0.0.1:9 127.0.0.1:PORT`, so the browser follows Gatehouse's
// real redirect (or form_post) to the registered URI and lands here, with that URI in its
// address bar.
//
// Why not page.route()? Playwright never runs route handlers for the hops of a redirect chain
// (as designed: microsoft/playwright#2617, #33882); the 303 from /login or /mfa to the
// redirect URI went to the network and failed with ERR_CONNECTION_REFUSED. Route handlers do
// see a direct navigation, which is why a form_post alone would have worked.

import http from 'node:http';

const APP_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Application</title></head>'
  + '<body><main><h1>Signed in to the application</h1></main></body></html>';

export async function startApp() {
  /** Every authorization response received: `{ method, url, params }`, oldest first. */
  const callbacks = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const url = new URL(req.url, 'http://127.0.0.1:9');
      if (url.pathname === '/cb') {
        const params = req.method === 'POST'
          ? Object.fromEntries(new URLSearchParams(body))
          : Object.fromEntries(url.searchParams);
        callbacks.push({ method: req.method, url: url.href, params });
      }
      res.writeHead(url.pathname === '/cb' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(APP_PAGE);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    callbacks,
    /** The response to the authorization request whose `state` is `state`, if it came. */
    callbackFor: (state) => callbacks.find((c) => c.params.state === state),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
