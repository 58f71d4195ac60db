// Dashboard: poll the figures every 5 s and update them in place (no reload).
"use strict";
(function () {
  const root = document.getElementById("figures");
  if (!root) return;
  function pick(obj, path) {
    return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
  }
  function show(value, format) {
    if (value === null || value === undefined) return format ? "–" : "0";
    if (format === "seconds") return value.toFixed(1) + " s";
    if (format === "age") return Math.round(value / 60) + " min";
    if (format === "usd") return "$" + value.toFixed(4);
    if (format === "percent") return (value * 100).toFixed(1) + " %";
    return String(value);
  }
  async function refresh() {
    try {
      const response = await shipdoc.api(root.dataset.refresh);
      if (!response.ok) return;
      const data = await response.json();
      root.querySelectorAll("[data-stat]").forEach((el) => {
        el.textContent = show(pick(data, el.dataset.stat), el.dataset.format);
      });
      const banner = document.getElementById("model-banner");
      banner.hidden = !data.model_problem;
      shipdoc.say("model-detail", data.model_problem || "");
      const updated = document.getElementById("updated");
      updated.textContent = data.generated_at.slice(0, 19).replace("T", " ") + " UTC";
      updated.setAttribute("datetime", data.generated_at);
      root.dataset.refreshed = String(Number(root.dataset.refreshed || 0) + 1);
    } catch (e) { /* the next poll tries again */ }
  }
  setInterval(refresh, 5000);
})();
