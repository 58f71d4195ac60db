// Record view: a field and its box light up together (hover or keyboard focus).
"use strict";
(function () {
  const root = document.getElementById("record");
  if (!root) return;
  const rows = Array.from(root.querySelectorAll("tr[data-path]"));
  const rects = Array.from(root.querySelectorAll("rect[data-path]"));
  function light(path, on) {
    rows.forEach((r) => r.classList.toggle("active", on && r.dataset.path === path));
    rects.forEach((r) => r.classList.toggle("active", on && r.dataset.path === path));
  }
  function bind(el, scrollTo) {
    const path = el.dataset.path;
    el.addEventListener("mouseenter", () => light(path, true));
    el.addEventListener("mouseleave", () => light(path, false));
    el.addEventListener("focus", () => {
      light(path, true);
      const other = scrollTo(path);
      if (other) other.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
    el.addEventListener("blur", () => light(path, false));
  }
  rows.forEach((r) => bind(r, (p) => rects.find((x) => x.dataset.path === p)));
  rects.forEach((r) => {
    bind(r, (p) => rows.find((x) => x.dataset.path === p));
    r.addEventListener("click", () => { const row = rows.find((x) => x.dataset.path === r.dataset.path); if (row) row.focus(); });
    r.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); r.dispatchEvent(new Event("click")); } });
  });
  window.shipdocRecord = { rows, light };
})();
