"""The report page's inline style sheet and script (no network at view time)."""

CSS = """
:root { --fg:#1d2433; --muted:#5b6475; --line:#d7dce5; --ok:#1a7f37; --bad:#c62828; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  margin: 0; background: #f6f7f9; }
header { background: #1d2433; color: #fff; padding: 14px 24px; }
header h1 { margin: 0; font-size: 20px; }
header p { margin: 4px 0 0; color: #c9d1e0; }
main { padding: 16px 24px 40px; max-width: 1440px; }
section.scenario { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  padding: 12px 18px 18px; margin: 18px 0; }
h2 { margin: 4px 0 10px; font-size: 18px; }
h3 { margin: 16px 0 6px; font-size: 15px; }
table { border-collapse: collapse; margin: 6px 0 10px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.VALID, .pass { color: var(--ok); font-weight: 600; }
.INVALID, .fail { color: var(--bad); font-weight: 600; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 6px 10px; margin: 8px 0; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
.plotbox { border: 1px solid var(--line); border-radius: 4px; background: #fff; }
svg.plot { display: block; font-size: 11px; }
svg.plot .title { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg.plot .frame { fill: none; stroke: #9aa3b2; }
svg.plot .grid { stroke: #eceff4; }
svg.plot .tick, svg.plot .legend { fill: var(--muted); }
svg.plot .legendbox { fill: #fff; fill-opacity: 0.85; stroke: #e3e7ee; }
svg.plot .axis { fill: var(--fg); }
svg.plot .series { fill: none; stroke-width: 1.8; }
svg.plot .ref { stroke: #c62828; stroke-dasharray: 6 4; }
svg.plot .reflabel { fill: #c62828; }
svg.plot .hover text { fill: var(--fg); font-size: 11px; }
details { margin: 6px 0; }
summary { cursor: pointer; color: #2b4c8c; }
pre { background: #f1f3f7; padding: 8px; overflow-x: auto; font-size: 12px; }
.muted { color: var(--muted); }
"""

# Hover read-out: the nearest point of every series at the pointer's x, in the chart's units.
JS = r"""
(function () {
  "use strict";
  function fmt(v, unit) {
    if (!isFinite(v)) return "–";
    var a = Math.abs(v);
    if (unit === "ns") {
      if (a >= 1e9) return (v / 1e9).toPrecision(4) + " s";
      if (a >= 1e6) return (v / 1e6).toPrecision(4) + " ms";
      if (a >= 1e3) return (v / 1e3).toPrecision(4) + " µs";
      return v.toPrecision(4) + " ns";
    }
    if (unit === "%") return v.toPrecision(6) + "%";
    if (unit === "s") return v.toPrecision(4) + " s";
    var s = unit === "/s" ? "/s" : "";
    if (a >= 1e6) return (v / 1e6).toPrecision(4) + "M" + s;
    if (a >= 1e3) return (v / 1e3).toPrecision(4) + "k" + s;
    return v.toPrecision(4) + s;
  }
  function inv(p, p0, p1, lo, hi, log) {
    var v = lo + (p - p0) / (p1 - p0) * (hi - lo);
    return log ? Math.pow(10, v) : v;
  }
  function points(path) {
    var out = [], re = /[ML]([\d.\-]+) ([\d.\-]+)/g, m;
    while ((m = re.exec(path.getAttribute("d"))) !== null) out.push([+m[1], +m[2]]);
    return out;
  }
  var NS = "http://www.w3.org/2000/svg";
  var plots = document.querySelectorAll("svg.plot");
  for (var i = 0; i < plots.length; i++) {
    (function (svg) {
      var d = svg.dataset, series = [], paths = svg.querySelectorAll("path.series");
      for (var k = 0; k < paths.length; k++) {
        series.push({name: paths[k].getAttribute("data-name"),
                     color: paths[k].getAttribute("stroke"), pts: points(paths[k])});
      }
      var layer = svg.querySelector("g.hover");
      svg.setAttribute("data-series-count", String(series.length));
      svg.addEventListener("mousemove", function (ev) {
        var box = svg.getBoundingClientRect();
        var px = (ev.clientX - box.left) * (svg.viewBox.baseVal.width / box.width);
        while (layer.firstChild) layer.removeChild(layer.firstChild);
        if (px < +d.x0 || px > +d.x1) return;
        var lines = [fmt(inv(px, +d.x0, +d.x1, +d.xlo, +d.xhi, d.xlog === "1"), d.xunit)];
        series.forEach(function (s) {
          var best = null;
          s.pts.forEach(function (p) {
            if (best === null || Math.abs(p[0] - px) < Math.abs(best[0] - px)) best = p;
          });
          if (best === null) return;
          var c = document.createElementNS(NS, "circle");
          c.setAttribute("cx", best[0]); c.setAttribute("cy", best[1]); c.setAttribute("r", 3);
          c.setAttribute("fill", s.color); layer.appendChild(c);
          lines.push(s.name + ": " +
                     fmt(inv(best[1], +d.y0, +d.y1, +d.ylo, +d.yhi, d.ylog === "1"), d.yunit));
        });
        lines.forEach(function (text, j) {
          var t = document.createElementNS(NS, "text");
          t.setAttribute("x", +d.x1 - 6); t.setAttribute("y", +d.y1 + 14 + 13 * j);
          t.setAttribute("text-anchor", "end"); t.textContent = text; layer.appendChild(t);
        });
      });
      svg.addEventListener("mouseleave", function () {
        while (layer.firstChild) layer.removeChild(layer.firstChild);
      });
    })(plots[i]);
  }
  document.body.setAttribute("data-plots-ready", String(plots.length));
})();
"""
