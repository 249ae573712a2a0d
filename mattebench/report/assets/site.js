/* mattebench leaderboard site: sorting and filtering, an enhancement over tables that are already
   rendered (the page reads the same with JavaScript off). Inlined into index.html; no network. */
(function () {
  "use strict";

  function value(row, index) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (raw === null || raw === "") return null;
    var v = parseFloat(raw);
    return isNaN(v) ? null : v;
  }

  function sortTable(table, th, direction) {
    var index = th.cellIndex;
    var sign = direction === "descending" ? -1 : 1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
      if (other.hasAttribute("data-sort")) other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", direction);
    Array.prototype.forEach.call(table.tBodies, function (body) {
      var rows = Array.prototype.filter.call(body.rows, function (r) { return r.hasAttribute("data-method"); });
      rows.sort(function (a, b) {
        var va = value(a, index), vb = value(b, index);
        // Runs without a value go last whatever the direction: a dash is not a score.
        if (va === null && vb === null) return a.getAttribute("data-run").localeCompare(b.getAttribute("data-run"));
        if (va === null) return 1;
        if (vb === null) return -1;
        if (va !== vb) return sign * (va - vb);
        return a.getAttribute("data-run").localeCompare(b.getAttribute("data-run"));
      });
      rows.forEach(function (r, i) {
        body.appendChild(r);
        var rank = r.querySelector(".rank");
        if (rank) rank.textContent = String(i + 1);
      });
    });
  }

  function enableSorting(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th) {
      if (!th.hasAttribute("data-sort")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        sortTable(table, th, next);
      });
    });
  }

  function applyFilter(form) {
    var name = form.querySelector("#filter-name").value.trim().toLowerCase();
    var family = form.querySelector("#filter-family").value;
    var shown = 0, total = 0;
    Array.prototype.forEach.call(document.querySelectorAll("table.board tbody"), function (body) {
      var visible = 0;
      Array.prototype.forEach.call(body.rows, function (r) {
        if (!r.hasAttribute("data-method")) return;
        total += 1;
        var ok = (!name || r.getAttribute("data-run").toLowerCase().indexOf(name) !== -1) &&
                 (!family || r.getAttribute("data-family") === family);
        r.hidden = !ok;
        if (ok) { visible += 1; shown += 1; }
      });
      var group = body.querySelector("tr.group");
      if (group) group.hidden = visible === 0;
      body.hidden = visible === 0;
    });
    Array.prototype.forEach.call(document.querySelectorAll("table.board"), function (table) {
      var empty = table.parentNode.parentNode.querySelector(".empty");
      var any = Array.prototype.some.call(table.tBodies, function (b) { return !b.hidden; });
      if (empty) empty.hidden = any;
    });
    var out = form.querySelector("output");
    if (out) out.textContent = shown === total ? "All " + total + " rows shown" : shown + " of " + total + " rows shown";
  }

  function enableFilter() {
    var form = document.getElementById("filters");
    if (!form) return;
    form.hidden = false;
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.addEventListener("input", function () { applyFilter(form); });
    form.addEventListener("change", function () { applyFilter(form); });
    applyFilter(form);
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.board"), enableSorting);
  enableFilter();
})();
