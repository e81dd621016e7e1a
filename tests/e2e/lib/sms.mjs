// Reads the texts Gatehouse wrote with its file SMS transport (`GATEHOUSE_SMS__DIR`, one
// `{id}.json` per message, set by ./run): `{to, body, kind, tenant, id, created_at}`, and the
// code of a message from its WebOTP line `@host #123456`.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SMS_DIR = process.env.GATEHOUSE_SMS__DIR;

/** Every text to `to` (E.164), oldest first. */
export async function textsTo(to) {
  let names = [];
  try {
    names = (await readdir(SMS_DIR)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const out = [];
  for (const name of names) {
    const msg = JSON.parse(await readFile(join(SMS_DIR, name), 'utf8'));
    if (msg.to === to) out.push({ ...msg, name });
  }
  return out.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.name.localeCompare(b.name));
}

/** The ids of every text to `to` so far (a `seen` set for waitForText). */
export async function textNames(to) {
  return new Set((await textsTo(to)).map((m) => m.name));
}

/** The code of the newest text to `to` not in `seen`, waiting up to `timeoutMs` for it. */
export async function waitForText(to, { seen = new Set(), timeoutMs = 5000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const newest = (await textsTo(to)).filter((m) => !seen.has(m.name)).at(-1);
    const code = newest?.body.match(/#(\d{6})\s*$/)?.[1];
    if (code) return { code, message: newest };
    if (Date.now() > deadline) throw new Error(`no code texted to ${to} in ${SMS_DIR} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
