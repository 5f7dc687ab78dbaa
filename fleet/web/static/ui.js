// Fleet web UI: live refresh (see fleet/web/__init__.py).
//
// The page subscribes to the server's run events (server-sent events) and, on each, fetches
// itself again with fragment=1: the server renders and escapes the <main> part, which replaces
// the current one. No page reload, and no HTML is built here from data.
"use strict";
(function () {
  const body = document.body;
  const main = document.getElementById("main");
  const live = document.getElementById("live");
  if (!main || !live || !window.EventSource) {
    return;
  }
  const query = new URLSearchParams(body.dataset.query || "");
  query.set("fragment", "1");
  const fragmentUrl = body.dataset.path + "?" + query.toString();
  let pending = null;
  let again = false;

  function setLive(on, text) {
    live.textContent = text;
    live.classList.toggle("on", on);
  }

  async function refresh() {
    if (pending) {
      again = true; // one more refresh after this one: events may come in bursts
      return;
    }
    pending = fetch(fragmentUrl, { headers: { Accept: "text/html" }, cache: "no-store" });
    try {
      const response = await pending;
      if (response.ok) {
        const open = Array.from(main.querySelectorAll("details[open]"), (d) => d.id).filter(Boolean);
        main.innerHTML = await response.text();
        for (const id of open) {
          const reopened = document.getElementById(id);
          if (reopened) reopened.open = true;
        }
        body.dataset.refreshed = String(Number(body.dataset.refreshed || "0") + 1);
      }
    } catch (error) {
      setLive(false, "refresh failed; retrying on the next event");
    } finally {
      pending = null;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  const source = new EventSource(body.dataset.events);
  source.onopen = function () {
    setLive(true, "live");
    // A run may have ended between this page being rendered and the stream opening (or while
    // the connection was down): from here on no event is missed, so refresh once now.
    refresh();
  };
  source.onerror = function () {
    setLive(false, "reconnecting…");
  };
  for (const kind of ["run-queued", "run-started", "run-finished", "run-failed"]) {
    source.addEventListener(kind, function () {
      refresh();
    });
  }
})();
