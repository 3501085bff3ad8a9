// Keeps the conversation of an open ticket up to date: every 5 s, fetches the
// conversation fragment and replaces only that block (the reply box, and what
// the agent is typing there, are left alone). Stops when the session ends.
(function () {
  "use strict";
  var box = document.getElementById("conversa");
  if (!box || !box.dataset.poll) {
    return;
  }
  var url = box.dataset.poll;
  var last = null;
  var timer = window.setInterval(refresh, 5000);

  function refresh() {
    if (document.hidden) {
      return;
    }
    window.fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) {  // logged out, or the ticket is gone
          window.clearInterval(timer);
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html !== null && html !== last) {
          last = html;
          box.innerHTML = html;
        }
      })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }
})();
