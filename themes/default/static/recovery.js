// Progressive enhancement: a Copy button for the recovery codes (hidden without JavaScript).
(function () {
  var button = document.getElementById('copy-codes');
  var list = document.getElementById('recovery-codes');
  if (!button || !list || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener('click', function () {
    var codes = Array.prototype.map.call(list.querySelectorAll('code'), function (c) {
      return c.textContent;
    }).join('\n');
    navigator.clipboard.writeText(codes).then(function () {
      button.textContent = 'Copied';
    });
  });
})();
