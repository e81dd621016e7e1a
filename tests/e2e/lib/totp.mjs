// RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30-second steps), computed here rather than with a
// library so the suite checks Gatehouse against the RFC, not against shared code.

import { createHmac } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding; spaces (the page groups the key by four) are ignored. */
export function base32Decode(text) {
  const clean = text.replace(/[\s=-]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${JSON.stringify(ch)} in ${JSON.stringify(text)}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 HOTP for counter `step`, 6 digits. */
export function hotp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 1_000_000).padStart(6, '0');
}

export const currentStep = (nowMs = Date.now()) => Math.floor(nowMs / 1000 / 30);

/**
 * A person's authenticator app. Gatehouse accepts each time step once per factor (only a newer
 * step than the last accepted one passes) and tolerates ±1 step of clock drift, so `nextCode()`
 * returns the code of the first step after the last one used that the server still accepts,
 * waiting for the clock only if even `current + 1` is already spent.
 */
export class Authenticator {
  constructor(base32Key) {
    this.key = base32Key;
    this.secret = base32Decode(base32Key);
    this.lastStep = -1;
  }

  /** The code for the given step, without marking it used (e.g. for a wrong-code test). */
  codeAt(step) {
    return hotp(this.secret, step);
  }

  async nextCode() {
    for (;;) {
      const cur = currentStep();
      const step = Math.max(this.lastStep + 1, cur);
      if (step <= cur + 1) {
        this.lastStep = step;
        return hotp(this.secret, step);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** A 6-digit code that no nearby step produces: certainly wrong. */
  wrongCode() {
    const cur = currentStep();
    const near = new Set([-2, -1, 0, 1, 2].map((d) => hotp(this.secret, cur + d)));
    for (let i = 0; ; i++) {
      const c = String((123456 + i * 111111) % 1_000_000).padStart(6, '0');
      if (!near.has(c)) return c;
    }
  }
}
