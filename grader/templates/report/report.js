// Sorting and filtering of the students' table. The page reads fine without it.
// The address carries the view, both ways: report.html#filter=ada&show=zero&sort=total&dir=desc
(function () {
  "use strict";
  var table = document.getElementById("students-table");
  if (!table) return;
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById("filter");
  var show = document.getElementById("show");
  var shown = document.getElementById("shown");
  var original = Array.prototype.slice.call(body.rows);  // the page's order: by name

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
    shown.textContent = count + " of " + body.rows.length + (body.rows.length === 1 ? " student" : " students") + " shown";
  }

  // The view (filter, group shown, sort) lives in the address, so that it can be linked and kept.
  var sorted = null;  // {key, desc}
  function key(head) { return head.getAttribute("data-key") || head.textContent.trim(); }

  function writeHash() {
    var params = new URLSearchParams();
    if (filter.value) params.set("filter", filter.value);
    if (show.value) params.set("show", show.value);
    if (sorted) { params.set("sort", sorted.key); if (sorted.desc) params.set("dir", "desc"); }
    var text = params.toString();
    // replaceState: no history entry per keystroke, and no hashchange event (the page is already so).
    history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
  }

  heads.forEach(function (head, index) {
    head.title = (head.title ? head.title + " · " : "") + "click to sort";
    head.addEventListener("click", function () {
      var desc = head.getAttribute("aria-sort") === "ascending";
      sortBy(index, desc);
      sorted = {key: key(head), desc: desc};
      writeHash();
    });
  });
  filter.addEventListener("input", function () { applyFilter(); writeHash(); });
  show.addEventListener("change", function () { applyFilter(); writeHash(); });

  // A link to a student's drill-down opens it; a view in the address (#show=zero&sort=percent&dir=desc) is applied.
  function applyHash() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("=") < 0) {
      var id = decodeURIComponent(hash);
      var target = id ? document.getElementById(id) : null;
      if (target && target.tagName === "DETAILS") target.open = true;
      return;
    }
    var params = new URLSearchParams(hash);
    filter.value = params.get("filter") || "";
    var wanted = params.get("show") || "";
    show.value = Array.prototype.some.call(show.options, function (o) { return o.value === wanted; }) ? wanted : "";
    var sortName = params.get("sort");
    sorted = null;
    original.forEach(function (row) { body.appendChild(row); });
    heads.forEach(function (h, i) { h.removeAttribute("aria-sort"); });
    heads.forEach(function (h, i) {
      if (sortName && (key(h) === sortName || h.textContent.trim() === sortName)) {
        sortBy(i, params.get("dir") === "desc");
        sorted = {key: key(h), desc: params.get("dir") === "desc"};
      }
    });
    applyFilter();
  }
  window.addEventListener("hashchange", applyHash);
  applyHash();
  applyFilter();
  document.body.setAttribute("data-ready", "1");
})();
