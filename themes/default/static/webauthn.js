// The browser's side of a WebAuthn ceremony (security keys and passkeys). A form marked
// `data-webauthn="create|get"` (with `data-webauthn-autofill`: passkey autofill too) carries the server's options (`data-options`, JSON)
// and its ceremony id; its button runs navigator.credentials and posts the answer as `code`:
// {"ceremony": id, "credential": {...}}. Without this script (or WebAuthn) the pages say so and
// offer the other methods; the server checks everything.
(function () {
  'use strict';
  function fromB64(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64(buf) {
    var bytes = new Uint8Array(buf), bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64(pk.challenge);
    pk.user.id = fromB64(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64(c.id); });
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = fromB64(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64(c.id); });
    return { publicKey: pk };
  }
  function answer(cred) {
    var r = cred.response, out = {
      id: cred.id,
      rawId: toB64(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      out.response.userHandle = r.userHandle ? toB64(r.userHandle) : null;
    }
    return out;
  }
  function show(sel) {
    var el = document.querySelector(sel);
    if (el) el.hidden = false;
  }
  function post(form, cred) {
    form.querySelector('input[name="code"]').value = JSON.stringify({
      ceremony: form.getAttribute('data-ceremony'),
      credential: answer(cred)
    });
    form.submit();
  }
  function run(form, mode, signal) {
    var options = JSON.parse(form.getAttribute('data-options'));
    var call = mode === 'create'
      ? navigator.credentials.create(creationOptions(options))
      : navigator.credentials.get(Object.assign(requestOptions(options),
          mode === 'conditional' ? { mediation: 'conditional', signal: signal } : {}));
    return call.then(function (cred) {
      if (cred) post(form, cred);
    });
  }
  var forms = document.querySelectorAll('form[data-webauthn]');
  if (!forms.length) return;
  if (!window.PublicKeyCredential || !navigator.credentials) {
    show('[data-webauthn-unsupported]');
    return;
  }
  var conditional = null;
  Array.prototype.forEach.call(forms, function (form) {
    var mode = form.getAttribute('data-webauthn');
    if (form.hasAttribute('data-webauthn-autofill') && PublicKeyCredential.isConditionalMediationAvailable) {
      // Passkey autofill on the sign-in field, where the browser offers it; the button runs
      // the same ceremony in a dialog.
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) return;
        conditional = new AbortController();
        run(form, 'conditional', conditional.signal).catch(function () {});
      });
    }
    var button = form.querySelector('[data-webauthn-start]');
    if (button) button.disabled = false;
    form.addEventListener('submit', function (ev) {
      if (form.querySelector('input[name="code"]').value) return;
      ev.preventDefault();
      if (conditional) { conditional.abort(); conditional = null; }
      run(form, mode).catch(function () { show('[data-webauthn-failed]'); });
    });
  });
})();
