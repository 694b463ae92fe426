/* crmseg report: CSV downloads and the migration matrix's cell lists. No library, no network. */
(function () {
  "use strict";

  function cellValue(td) {
    return td.hasAttribute("data-v") ? td.getAttribute("data-v") : td.textContent.trim();
  }

  function csvOf(table) {
    var lines = [];
    table.querySelectorAll("tr").forEach(function (tr) {
      var cells = [];
      tr.querySelectorAll("th, td").forEach(function (c) {
        var v = cellValue(c).replace(/\s+/g, " ");
        cells.push(/[",\n;]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v);
      });
      lines.push(cells.join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  function download(button) {
    var table = document.getElementById(button.getAttribute("data-csv"));
    if (!table) { return; }
    var blob = new Blob(["\ufeff" + csvOf(table)], { type: "text/csv;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.getAttribute("data-filename") || "table.csv";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
  }

  document.querySelectorAll("button.csv").forEach(function (b) {
    b.addEventListener("click", function () { download(b); });
  });

  var members = JSON.parse(document.getElementById("migration-members").textContent);
  var table = document.getElementById("cell-table");
  var withEmail = table.querySelectorAll("thead th").length === 7;
  var format = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

  function td(text, cls, raw) {
    var c = document.createElement("td");
    c.textContent = text;
    if (cls) { c.className = cls; }
    if (raw !== undefined) { c.setAttribute("data-v", raw); }
    return c;
  }

  function label(key) {
    var parts = key.split(">");
    return (parts[0] === "none" ? "no class" : parts[0]) + " \u2192 " + parts[1];
  }

  function show(button) {
    var key = button.getAttribute("data-cell");
    var list = members[key] || { total: 0, shown: 0, rows: [] };
    document.querySelectorAll("button.cellbtn.active").forEach(function (b) { b.classList.remove("active"); });
    button.classList.add("active");
    var body = table.querySelector("tbody");
    body.textContent = "";
    list.rows.forEach(function (p) {
      var tr = document.createElement("tr");
      tr.appendChild(td(p.id));
      if (withEmail) { tr.appendChild(td(p.email || "")); }
      tr.appendChild(td(p.name || ""));
      tr.appendChild(td(format.format(Number(p.revenue)), "num", p.revenue));
      tr.appendChild(td(format.format(Number(p.revenue_before)), "num", p.revenue_before));
      var change = Number(p.change);
      tr.appendChild(td((change > 0 ? "+" : "") + format.format(change), "num " + (change > 0 ? "pos" : change < 0 ? "neg" : ""), p.change));
      tr.appendChild(td(p.last_purchase || ""));
      body.appendChild(tr);
    });
    document.getElementById("cell-title").textContent =
      label(key) + ": " + format.format(list.total) + (list.total === 1 ? " customer" : " customers");
    document.getElementById("cell-note").textContent = list.total > list.shown
      ? "Showing the first " + format.format(list.shown) + " of " + format.format(list.total) + ", most revenue first (lists are cut at [report] detail_limit rows)."
      : "Most revenue first.";
    table.hidden = false;
    var csv = document.getElementById("cell-csv");
    csv.hidden = false;
    csv.setAttribute("data-filename", "abc_" + key.replace(">", "_to_") + ".csv");
  }

  document.querySelectorAll("button.cellbtn").forEach(function (b) {
    b.addEventListener("click", function () { show(b); });
  });
})();
