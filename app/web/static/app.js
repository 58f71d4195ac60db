// shipdoc: helpers shared by the pages (no library). Scripts call the JSON API with the
// session cookie and the session's CSRF token in the X-CSRF-Token header.
"use strict";
window.shipdoc = {
  csrf: document.querySelector('meta[name="csrf-token"]').content,
  async api(path, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    opts.headers = Object.assign({ "X-CSRF-Token": this.csrf }, opts.headers);
    const response = await fetch(path, opts);
    if (response.status === 401) {
      window.location = "/signin?expired=1&next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("session expired");
    }
    return response;
  },
  async errorMessage(response) {
    try { const body = await response.json(); return body.error ? body.error.message : response.statusText; }
    catch (e) { return response.status + " " + response.statusText; }
  },
  say(id, text) { const el = document.getElementById(id); if (el) el.textContent = text; },
};
