// Reads the mail Gatehouse wrote with its file transport (`GATEHOUSE_MAIL__DIR`, one
// `{uuid}.eml` per message, set by ./run): headers, a decoded plain-text body, and the one-time
// code of a "Your verification code" or "Your sign-in code" message.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const MAIL_DIR = process.env.GATEHOUSE_MAIL__DIR;

/** Undoes quoted-printable (RFC 2045 §6.7): soft line breaks and =XX bytes, as UTF-8. */
export function decodeQuotedPrintable(s) {
  const bytes = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words in a header (`=?utf-8?q?...?=` / `=?utf-8?b?...?=`). */
function decodeHeader(v) {
  return v.replace(/=\?([^?]+)\?([bqBQ])\?([^?]*)\?=/g, (_, _cs, enc, data) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(data, 'base64').toString('utf8')
      : decodeQuotedPrintable(data.replace(/_/g, ' ')),
  );
}

/** Parses one single-part message: `{ headers, subject, to, body }` (body decoded). */
export function parseMessage(raw) {
  const split = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  const rest = raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = decodeHeader(line.slice(i + 1).trim());
  }
  const cte = (headers['content-transfer-encoding'] || '7bit').toLowerCase();
  let body = rest;
  if (cte === 'quoted-printable') body = decodeQuotedPrintable(rest);
  else if (cte === 'base64') body = Buffer.from(rest.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, subject: headers.subject || '', to: headers.to || '', body: body.replace(/\r\n/g, '\n') };
}

/** Every message to `recipient`, oldest first (by file time, then name). */
export async function messagesTo(recipient) {
  let names = [];
  try {
    names = (await readdir(MAIL_DIR)).filter((n) => n.endsWith('.eml'));
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const out = [];
  for (const name of names) {
    const path = join(MAIL_DIR, name);
    const [raw, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const msg = parseMessage(raw);
    if (msg.to.toLowerCase().includes(recipient.toLowerCase())) out.push({ ...msg, name, mtime: st.mtimeMs });
  }
  return out.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
}

/** The file names of every message to `recipient` so far (a `seen` set for waitForCode). */
export async function mailNames(recipient) {
  return new Set((await messagesTo(recipient)).map((m) => m.name));
}

/**
 * The 6-digit code of the newest message to `recipient` whose subject matches `subject`
 * (default: any subject with "code") and that is not one of `seen` (file names), waiting up to
 * `timeoutMs` for it to be written. The mailbox proof and the email set-up both send "Your
 * verification code", so a step that wants the second passes the names it saw before.
 */
export async function waitForCode(recipient, { seen = new Set(), subject = /code/i, timeoutMs = 5000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  const wanted = (s) => (subject instanceof RegExp ? subject.test(s) : s === subject);
  for (;;) {
    const msgs = (await messagesTo(recipient)).filter((m) => !seen.has(m.name) && wanted(m.subject));
    const newest = msgs.at(-1);
    const code = newest?.body.match(/^\s*(\d{6})\s*$/m)?.[1];
    if (code) return { code, message: newest };
    if (Date.now() > deadline) {
      throw new Error(`no code (subject ${subject}) mailed to ${recipient} in ${MAIL_DIR} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
