// A browser with JavaScript turned off, just enough of one to walk Gatehouse's hosted pages:
// a cookie jar, `fetch` with `redirect: 'manual'`, and an HTML form reader. It never follows a
// redirect that leaves the OP's origin: that is the authorization response, and the caller reads
// its `Location` instead (nothing listens on the client's redirect URI).

/** One cookie as RFC 6265 stores it; host-only on the OP's host, so name + path is the key. */
class CookieJar {
  constructor() {
    /** @type {Map<string, {name: string, value: string, path: string, expires: number|null}>} */
    this.cookies = new Map();
  }

  /** Stores every `Set-Cookie` of a response (`getSetCookie` keeps them apart). */
  store(response, requestUrl) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      // RFC 6265 §5.1.4: the default path is the request path up to its last '/'.
      const reqPath = new URL(requestUrl).pathname;
      let path = reqPath.slice(0, Math.max(1, reqPath.lastIndexOf('/')));
      let expires = null;
      for (const attr of attrs) {
        const [k, ...rest] = attr.split('=');
        const key = k.trim().toLowerCase();
        const v = rest.join('=').trim();
        if (key === 'path' && v.startsWith('/')) path = v;
        if (key === 'max-age') expires = Date.now() + Number(v) * 1000;
        if (key === 'expires' && expires === null) expires = Date.parse(v);
      }
      const key = `${name}\u0000${path}`;
      if (expires !== null && expires <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path, expires });
    }
  }

  /** The `Cookie` header for a request to `url` (RFC 6265 §5.1.4 path-match, longest first). */
  header(url) {
    const path = new URL(url).pathname;
    const now = Date.now();
    return [...this.cookies.values()]
      .filter((c) => c.expires === null || c.expires > now)
      .filter((c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  has(name) {
    return [...this.cookies.values()].some((c) => c.name === name);
  }

  /** Forgets one cookie, e.g. the SSO session, as a user clearing it would. */
  drop(name) {
    for (const [k, c] of this.cookies) if (c.name === name) this.cookies.delete(k);
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#x2F': '/', '#x3D': '=', '#x60': '`' };

/** Undoes the HTML escaping of an attribute value (minijinja escapes & < > " ' and /). */
export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (ENTITIES[e] !== undefined) return ENTITIES[e];
    if (e[0] === '#') {
      const code = e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return m;
  });
}

function attributes(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/**
 * Every `<form>` of a page: method, action, the named inputs with their values and the submit
 * buttons (name/value). Enough for server-rendered forms without JavaScript.
 */
export function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]);
    const fields = {};
    const buttons = [];
    for (const t of m[2].matchAll(/<(input|button|textarea)\b([^>]*)>/gi)) {
      const a = attributes(t[2]);
      const kind = t[1].toLowerCase();
      const type = (a.type || (kind === 'button' ? 'submit' : 'text')).toLowerCase();
      if (!a.name) continue;
      if (type === 'submit') buttons.push({ name: a.name, value: a.value ?? '' });
      else fields[a.name] = a.value ?? '';
    }
    forms.push({ method: (attrs.method || 'get').toUpperCase(), action: attrs.action ?? '', fields, buttons });
  }
  return forms;
}

export class Browser {
  /**
   * @param {string} opOrigin e.g. `http://127.0.0.1:43123`; redirects elsewhere are not followed.
   * @param {{timeoutMs?: number}} [options] abort an exchange that takes longer than this.
   */
  constructor(opOrigin, { timeoutMs } = {}) {
    this.origin = opOrigin;
    this.timeoutMs = timeoutMs;
    this.jar = new CookieJar();
  }

  /** One HTTP exchange with cookies; never follows redirects. */
  async request(url, { method = 'GET', form, headers = {} } = {}) {
    const h = { 'user-agent': 'gatehouse-conformance (no JavaScript)', ...headers };
    const cookie = this.jar.header(url);
    if (cookie && new URL(url).origin === this.origin) h.cookie = cookie;
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
    }
    const signal = this.timeoutMs ? AbortSignal.timeout(this.timeoutMs) : undefined;
    const res = await fetch(url, { method, headers: h, body, redirect: 'manual', signal });
    if (new URL(url).origin === this.origin) this.jar.store(res, url);
    const text = await res.text();
    const location = res.headers.get('location');
    return {
      url,
      status: res.status,
      headers: res.headers,
      body: text,
      location: location ? new URL(location, url).href : null,
    };
  }

  /**
   * Requests `url` and follows redirects while they stay on the OP. Returns either
   * `{ leftTo }` (a redirect off the OP: the authorization response) or the final page.
   */
  async navigate(url, opts = {}) {
    let res = await this.request(url, opts);
    const trail = [res];
    for (let hops = 0; res.location && hops < 10; hops++) {
      if (new URL(res.location).origin !== this.origin) return { ...res, leftTo: res.location, trail };
      // 303 (and 301/302 after a POST, as browsers do) turn into GET.
      res = await this.request(res.location);
      trail.push(res);
    }
    return { ...res, trail };
  }

  /** Submits `form` (from `parseForms`) found on the page at `pageUrl`, clicking `button`. */
  async submit(pageUrl, form, values = {}, button) {
    const fields = { ...form.fields, ...values };
    if (button) fields[button.name] = button.value;
    const action = new URL(form.action || pageUrl, pageUrl).href;
    if (form.method === 'POST') return this.navigate(action, { method: 'POST', form: fields });
    const u = new URL(action);
    for (const [k, v] of Object.entries(fields)) u.searchParams.set(k, v);
    return this.navigate(u.href);
  }
}

/** Which hosted page this is (Gatehouse renders one form per stage). */
export function pageKind(res) {
  const path = new URL(res.url).pathname;
  const forms = parseForms(res.body);
  if (res.status >= 400) return 'error';
  if (forms.some((f) => f.fields.password !== undefined)) return 'login';
  if (forms.some((f) => f.buttons.some((b) => b.name === 'decision'))) return 'consent';
  // The MFA set-up offered at sign-in; only a skippable one has a Skip button.
  if (/\/enrol(\/|$)/.test(path)) return 'enrol';
  if (/\/logout$/.test(path) && forms.length) return 'logout-confirm';
  // OAuth 2.0 Form Post Response Mode: a page whose form posts to another origin (the client).
  if (forms.some((f) => f.action && new URL(f.action, res.url).origin !== new URL(res.url).origin)) {
    return 'form-post';
  }
  return res.status >= 400 ? 'error' : 'page';
}

/**
 * Drives an authorization request through the hosted pages like a person with JavaScript off:
 * signs in with `credentials` when the login page shows (and only then), presses Skip on an
 * optional two-factor set-up page, answers the consent page with `consent` ('allow' | 'deny'),
 * and stops at the first redirect off the OP.
 *
 * Returns `{ callback, pages }` where `callback` is the authorization response URL (or null if
 * the OP stopped on a page) and `pages` lists the hosted pages seen, in order.
 */
export async function authorize(browser, url, { credentials, consent = 'allow', method = 'GET', loginDelayMs = 0 } = {}) {
  const pages = [];
  let res;
  if (method === 'POST') {
    const u = new URL(url);
    const form = Object.fromEntries(u.searchParams);
    res = await browser.navigate(u.origin + u.pathname, { method: 'POST', form });
  } else {
    res = await browser.navigate(url);
  }
  for (let step = 0; step < 6; step++) {
    if (res.leftTo) return { callback: res.leftTo, pages, last: res };
    const kind = pageKind(res);
    pages.push({ kind, status: res.status, url: res.url, body: res.body });
    const forms = parseForms(res.body);
    if (kind === 'login') {
      if (!credentials) return { callback: null, pages, last: res };
      if (loginDelayMs) await new Promise((r) => setTimeout(r, loginDelayMs));
      const form = forms.find((f) => f.fields.password !== undefined);
      res = await browser.submit(res.url, form, { login: credentials.login, password: credentials.password });
    } else if (kind === 'enrol' && forms.some((f) => f.buttons.some((b) => b.name === 'action' && b.value === 'skip'))) {
      // A person who does not want to set up two-factor authentication now presses Skip.
      const form = forms.find((f) => f.buttons.some((b) => b.name === 'action' && b.value === 'skip'));
      const button = form.buttons.find((b) => b.name === 'action' && b.value === 'skip');
      res = await browser.submit(res.url, form, {}, button);
    } else if (kind === 'form-post') {
      // A browser with JavaScript off shows a "Continue" button; pressing it posts to the client.
      // Hand that POST to the caller as a Request, which openid-client accepts as the callback.
      const form = forms[0];
      const action = new URL(form.action, res.url).href;
      const callback = new Request(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form.fields).toString(),
      });
      return { callback, pages, last: res };
    } else if (kind === 'consent') {
      const form = forms.find((f) => f.buttons.some((b) => b.name === 'decision'));
      const button = form.buttons.find((b) => b.name === 'decision' && b.value === consent);
      res = await browser.submit(res.url, form, {}, button);
    } else {
      return { callback: null, pages, last: res };
    }
  }
  throw new Error('too many hosted pages in one authorization');
}
