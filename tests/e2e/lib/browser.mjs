// The browser side of the suite: Debian's chromium through playwright-core (never a downloaded
// browser), one `Scenario` per test with its own contexts, the client's redirect URI
// intercepted, and `capture()` which screenshots a page at both widths and checks it with axe.

import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { KNOWN_A11Y_FAILURES, KNOWN_DEFECTS } from './known.mjs';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');

export const SCREENSHOTS = process.env.E2E_SCREENSHOTS || join(process.cwd(), '../../artifacts/screenshots');

/** Starts chromium; `appPort` is where the fake application (lib/app.mjs) listens. */
export function launch(appPort) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // The client's redirect URI is http://127.0.0.1:9/cb, served by lib/app.mjs on another
      // port. Port 9 (discard) is on Chromium's list of unsafe ports (net::ERR_UNSAFE_PORT),
      // so that one port is allowed explicitly, then mapped to the application's real port.
      '--explicitly-allowed-ports=9',
      // localhost:9 is the same server under another origin (the CORS scenario's outsider).
      `--host-resolver-rules=MAP 127.0.0.1:9 127.0.0.1:${appPort},MAP localhost:9 127.0.0.1:${appPort}`,
    ],
  });
}

/** The two widths every page is looked at. */
export const PROFILES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

/** axe impacts that fail the suite. */
const FAILING_IMPACTS = new Set(['serious', 'critical']);


export class Scenario {
  constructor(browser, app, name) {
    this.browser = browser;
    /** The application at the redirect URI (lib/app.mjs): `callbackFor(state)`. */
    this.app = app;
    this.name = name;
    this.contexts = [];
    this.mirrors = new Map();
    /** Accessibility violations found by capture(): `{ capture, id, impact, help, targets }`. */
    this.violations = [];
    this.known = [];
    this.minor = [];
    this.axeRuns = 0;
    /** Checks of KNOWN_DEFECTS: `{ id, reproduced, detail }`. */
    this.defects = [];
    this.screenshots = [];
  }

  /**
   * A new, independent browser context (its own cookies): `profile` 'desktop' or 'phone',
   * `javaScript` false for a browser with scripts off. `bypassCSP` lets axe be injected: the
   * server's CSP forbids inline script, and nothing else in the pages depends on it.
   */
  async context({ profile = 'desktop', javaScript = true } = {}) {
    const context = await this.browser.newContext({
      ...PROFILES[profile],
      javaScriptEnabled: javaScript,
      bypassCSP: true,
      acceptDownloads: true,
    });
    context.setDefaultTimeout(10_000);
    context.e2e = { profile, javaScript };
    this.contexts.push(context);
    return context;
  }

  /** A page in a fresh context (shortcut for the common case). */
  async page(opts) {
    const context = await this.context(opts);
    return context.newPage();
  }

  /**
   * A render-only context per profile, for looking at a page at the width its own context does
   * not have, or checking it with axe when its own context runs without JavaScript.
   */
  async mirror(profile) {
    if (!this.mirrors.has(profile)) {
      const context = await this.browser.newContext({ ...PROFILES[profile], bypassCSP: true });
      // The page's own scripts already ran (or were off) in the original: never run them again
      // (form_post.js would submit the form a second time).
      await context.route(/\.js(\?|$)/, (route) =>
        route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }),
      );
      this.mirrors.set(profile, await context.newPage());
    }
    return this.mirrors.get(profile);
  }

  /**
   * Screenshots the page the flow is on as `NN-name-desktop.png` and `NN-name-phone.png` and runs
   * axe on it at both widths. The width of the page's own context is shot live; the other
   * width renders the same document (its current DOM, at the same URL, with the server's
   * stylesheet and images) in a mirror context. Violations are collected, not thrown, so a
   * flow goes on and every page still gets its screenshots.
   */
  async capture(page, name) {
    await page.waitForLoadState('load');
    const live = page.context().e2e;
    const html = await page.content();
    const url = page.url();
    await mkdir(SCREENSHOTS, { recursive: true });
    for (const profile of Object.keys(PROFILES)) {
      let target = page;
      if (live.profile !== profile || !live.javaScript) {
        target = await this.mirror(profile);
        await target.route((u) => u.href === url, (route) =>
          route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
        );
        await target.goto(url, { waitUntil: 'load' });
        await target.unroute((u) => u.href === url);
      }
      if (live.profile === profile) {
        await page.screenshot({ path: join(SCREENSHOTS, `${name}-${profile}.png`), fullPage: true });
      } else {
        await target.screenshot({ path: join(SCREENSHOTS, `${name}-${profile}.png`), fullPage: true });
      }
      this.screenshots.push(`${name}-${profile}.png`);
      await this.axe(target, `${name}-${profile}`);
    }
  }

  /** Runs axe-core on `page` and records serious/critical violations. */
  async axe(page, label) {
    await page.addScriptTag({ path: AXE_PATH });
    const result = await page.evaluate(() =>
      // eslint-disable-next-line no-undef
      axe.run(document, { resultTypes: ['violations'] }),
    );
    this.axeRuns += 1;
    for (const v of result.violations) {
      if (!FAILING_IMPACTS.has(v.impact)) {
        // Minor and moderate findings do not fail; E2E_VERBOSE=1 prints them.
        this.minor.push({ capture: label, id: v.id, impact: v.impact, help: v.help,
          targets: v.nodes.map((n) => n.target.join(' ')) });
        continue;
      }
      const entry = {
        capture: label,
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(' ')),
      };
      const known = KNOWN_A11Y_FAILURES.some((k) => label.startsWith(k.page) && k.rule === v.id);
      (known ? this.known : this.violations).push(entry);
    }
  }

  /**
   * A check that currently fails because of a known defect (listed in known.mjs): records
   * whether it still reproduces instead of failing the scenario. Returns `ok`.
   */
  knownDefect(id, ok, detail = '') {
    if (!KNOWN_DEFECTS[id]) throw new Error(`unknown defect id ${id} (add it to lib/known.mjs)`);
    this.defects.push({ id, reproduced: !ok, detail });
    return ok;
  }

  async close() {
    for (const p of this.mirrors.values()) await p.context().close().catch(() => {});
    for (const c of this.contexts) await c.close().catch(() => {});
  }
}
