// Security keys and passkeys for the browser suite: Chromium's DevTools virtual authenticators
// (the WebAuthn CDP domain), attached to one page's browser context. A real ceremony runs: the
// page's script calls navigator.credentials, Chromium's authenticator makes or uses a real
// P-256 credential, the server verifies it.

/** A USB security key without resident keys or user verification (a plain FIDO2 key). */
export const SECURITY_KEY = {
  protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: false,
  isUserVerified: false, automaticPresenceSimulation: true,
};

/** The device's own passkey store (Touch ID, Windows Hello): resident keys, user verification. */
export const PASSKEY = {
  protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
  isUserVerified: true, automaticPresenceSimulation: true,
};

/** Plugs a virtual authenticator of `options` into `page`; returns `{ id, credentials(), remove() }`. */
export async function addAuthenticator(page, options) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options });
  return {
    id: authenticatorId,
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
    async remove() {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    },
  };
}
