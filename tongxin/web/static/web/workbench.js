// Workbench pages: live countdowns to deadlines ([data-deadline], ISO 8601). Works on content htmx swaps in.
(function () {
  function fmt(ms) {
    var over = ms < 0, s = Math.abs(Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
    var text = d ? d + (zh ? "天" : "d ") + h + (zh ? "小时" : "h") :
      h ? h + (zh ? "小时" : "h ") + m + (zh ? "分" : "m") : m + (zh ? "分" : "m ") + sec + (zh ? "秒" : "s");
    return (over ? (zh ? "超 " : "overdue ") : (zh ? "剩 " : "left ")) + text;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-deadline"));
      if (!isNaN(due)) { el.textContent = fmt(due - now); el.classList.toggle("overdue", due < now); }
    });
  }
  tick();
  setInterval(tick, 1000);
})();
