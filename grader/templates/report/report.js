// Sorting and filtering of the students' table. The page reads fine without it.
// The address may carry the view: report.html#filter=ada&show=zero&sort=total&dir=desc
(function () {
  "use strict";
  var table = document.getElementById("students-table");
  if (!table) return;
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById("filter");
  var show = document.getElementById("show");
  var shown = document.getElementById("shown");

  function value(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    return numeric ? parseFloat(raw) || 0 : raw.toLowerCase();
  }

  function sortBy(index, descending) {
    var numeric = heads[index].getAttribute("data-type") === "num";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, index, numeric), y = value(b, index, numeric);
      var order = x < y ? -1 : x > y ? 1 : 0;
      if (order === 0) order = a.getAttribute("data-slug") < b.getAttribute("data-slug") ? -1 : 1;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    heads.forEach(function (h, i) {
      if (i === index) h.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else h.removeAttribute("aria-sort");
    });
  }

  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var tag = show.value;
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var text = row.textContent.toLowerCase();
      var tags = (row.getAttribute("data-tags") || "").split(" ");
      var visible = words.every(function (w) { return text.indexOf(w) >= 0; }) && (!tag || tags.indexOf(tag) >= 0);
      row.hidden = !visible;
      if (visible) count += 1;
    });
    shown.textContent = count + " of " + body.rows.length + " students shown";
  }

  heads.forEach(function (head, index) {
    head.title = (head.title ? head.title + " · " : "") + "click to sort";
    head.addEventListener("click", function () {
      sortBy(index, head.getAttribute("aria-sort") === "ascending");
    });
  });
  filter.addEventListener("input", applyFilter);
  show.addEventListener("change", applyFilter);

  // A link to a student's drill-down opens it.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && id.indexOf("=") < 0 ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") target.open = true;
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  var params = new URLSearchParams(location.hash.indexOf("=") >= 0 ? location.hash.slice(1) : "");
  if (params.get("filter")) filter.value = params.get("filter");
  if (params.get("show")) show.value = params.get("show");
  var sortName = params.get("sort");
  if (sortName) {
    heads.forEach(function (h, i) {
      if (h.textContent.trim() === sortName) sortBy(i, params.get("dir") === "desc");
    });
  }
  applyFilter();
  document.body.setAttribute("data-ready", "1");
})();
