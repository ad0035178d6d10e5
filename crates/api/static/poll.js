// Progressive enhancement for pages that wait on something (a payment
// being confirmed, a bill run being finalized): fetch the page again every
// few seconds and swap in the parts marked data-live, without reloading
// (no focus loss, no meta refresh). Without JavaScript the "check again"
// link does the same by hand.
(function () {
  var root = document.querySelector('[data-poll]');
  if (!root || !window.fetch || !window.DOMParser) return;
  var every = Math.max(2, parseInt(root.getAttribute('data-poll'), 10) || 3) * 1000;
  function tick() {
    fetch(window.location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        document.querySelectorAll('[data-live]').forEach(function (el) {
          var fresh = el.id && doc.getElementById(el.id);
          if (fresh && fresh.innerHTML !== el.innerHTML) {
            el.innerHTML = fresh.innerHTML;
            el.className = fresh.className;
          }
        });
        if (doc.querySelector('[data-poll]')) setTimeout(tick, every);
        else document.querySelectorAll('.poll-only').forEach(function (el) { el.hidden = true; });
      })
      .catch(function () { setTimeout(tick, every * 2); });
  }
  setTimeout(tick, every);
})();
