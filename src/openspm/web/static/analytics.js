/* OpenSPM analytics charts: line, bar, funnel, histogram and sparkline, drawn by ECharts from JSON in
 * `data-analytics-chart` attributes (app.js keeps `data-chart` for its own bar charts; the two never meet).
 * No inline scripts, so a strict Content-Security-Policy (script-src 'self') holds. Every chart's numbers
 * are also in a table in the page (in a <details> under the chart) and in CSV/XLSX downloads, so nothing
 * here is needed to read them.
 *
 * The JSON:  {"kind": "line"|"bar"|"funnel"|"histogram"|"sparkline", "unit": "money"|"count"|"ratio"|…,
 *             "categories": [...], "series": [{"name", "data": [...], "unit"?, "type"?}],
 *             "links": [href per category]?, "target": number?, "stages": [{"name","value"}]?,
 *             "rates": [conversion per stage]?} */
(function () {
  "use strict";

  var ECHARTS_SRC = "/static/vendor/echarts/echarts.min.js";
  var SELECTOR = "[data-analytics-chart]";
  var PALETTE = ["#2f5bea", "#17c3b2", "#f2a541", "#8e6cf0", "#e5606d", "#4aa3df", "#7a8699"];
  var INK = "#3b4558";
  var MUTED = "#5f6b7d";
  var GRID = "#e9edf3";
  var loading = null;

  function loadEcharts() {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.querySelector('script[src="' + ECHARTS_SRC + '"]');
        if (!script) {
          script = document.createElement("script");
          script.src = ECHARTS_SRC;
          document.head.appendChild(script);
        }
        script.addEventListener("load", function () { resolve(window.echarts); });
        script.addEventListener("error", reject);
        if (window.echarts) resolve(window.echarts);
      });
    }
    return loading;
  }

  /* --- numbers as people read them ------------------------------------------------------------------ */
  function compact(value) {
    var abs = Math.abs(value);
    if (abs >= 1e9) return (value / 1e9).toFixed(1) + "B";
    if (abs >= 1e6) return (value / 1e6).toFixed(1) + "M";
    if (abs >= 1e3) return (value / 1e3).toFixed(abs >= 1e4 ? 0 : 1) + "k";
    return String(Math.round(value * 10) / 10);
  }

  function formatter(unit, full) {
    return function (value) {
      if (value === null || value === undefined || value === "") return "–";
      var v = Number(value);
      if (unit === "ratio") return (v * 100).toFixed(full ? 1 : 0) + " %";
      if (unit === "multiple") return v.toFixed(2) + "×";
      if (unit === "days") return v.toFixed(full ? 1 : 0) + (full ? " days" : "");
      if (unit === "money" || unit === "money_per_day") {
        return full ? v.toLocaleString(undefined, { maximumFractionDigits: 0 }) : compact(v);
      }
      return full ? v.toLocaleString() : compact(v);
    };
  }

  function tooltip(units) {
    return {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      valueFormatter: undefined,
      formatter: function (items) {
        if (!items.length) return "";
        var lines = [items[0].axisValueLabel];
        items.forEach(function (item) {
          var unit = units[item.seriesIndex] || units[0];
          lines.push(item.marker + item.seriesName + ": <b>" + formatter(unit, true)(item.value) + "</b>");
        });
        return lines.join("<br>");
      }
    };
  }

  function unitsOf(data) {
    return (data.series || []).map(function (s) { return s.unit || data.unit; });
  }

  function axes(data) {
    /* One value axis per distinct unit (at most two: left and right). */
    var units = [];
    unitsOf(data).forEach(function (u) { if (units.indexOf(u) < 0 && units.length < 2) units.push(u); });
    if (!units.length) units.push(data.unit || "count");
    return units.map(function (unit, i) {
      return {
        type: "value", position: i ? "right" : "left", scale: unit === "ratio" ? false : undefined,
        min: unit === "ratio" ? 0 : undefined,
        axisLabel: { color: MUTED, formatter: formatter(unit, false) },
        splitLine: { show: i === 0, lineStyle: { color: GRID } },
        minInterval: unit === "count" ? 1 : undefined
      };
    });
  }

  function axisIndex(data, series) {
    var units = [];
    unitsOf(data).forEach(function (u) { if (units.indexOf(u) < 0 && units.length < 2) units.push(u); });
    return Math.max(0, units.indexOf(series.unit || data.unit));
  }

  function categoryAxis(data, width) {
    var perItem = width / Math.max((data.categories || []).length, 1);
    var tilted = perItem < 70;
    return {
      type: "category", data: data.categories,
      axisLabel: { interval: 0, color: INK, overflow: "truncate", width: tilted ? 90 : Math.max(perItem - 8, 36), rotate: tilted ? 35 : 0 },
      axisTick: { alignWithLabel: true }
    };
  }

  function base(data) {
    var many = (data.series || []).length > 1;
    return {
      color: PALETTE,
      animationDuration: 300,
      legend: many ? { top: 0, textStyle: { color: INK } } : undefined,
      grid: { left: 8, right: 12, top: many ? 36 : 16, bottom: 8, containLabel: true }
    };
  }

  /* --- the kinds ----------------------------------------------------------------------------------- */
  function lineOption(data, width) {
    var option = base(data);
    option.tooltip = tooltip(unitsOf(data));
    option.xAxis = categoryAxis(data, width);
    option.xAxis.boundaryGap = data.series.some(function (s) { return s.type === "bar"; });
    option.yAxis = axes(data);
    option.series = data.series.map(function (s) {
      return {
        name: s.name, type: s.type || "line", data: s.data, yAxisIndex: axisIndex(data, s),
        smooth: false, symbolSize: 6, connectNulls: false, barMaxWidth: 40,
        lineStyle: { width: 2, type: s.dashed ? "dashed" : "solid" },
        itemStyle: s.type === "bar" ? { borderRadius: [3, 3, 0, 0] } : undefined
      };
    });
    return option;
  }

  function barOption(data, width) {
    var option = base(data);
    var horizontal = !!data.horizontal;
    option.tooltip = tooltip(unitsOf(data));
    var cat = categoryAxis(data, width);
    var values = axes(data);
    if (horizontal) {
      cat.axisLabel = { color: INK, width: 140, overflow: "truncate" };
      cat.inverse = true;
      option.grid.right = 24;
    }
    option.xAxis = horizontal ? values[0] : cat;
    option.yAxis = horizontal ? cat : values;
    option.series = data.series.map(function (s, i) {
      var serie = {
        name: s.name, type: s.type || "bar", data: s.data, barMaxWidth: 48,
        stack: data.stack ? "total" : undefined,
        itemStyle: { borderRadius: horizontal ? [0, 4, 4, 0] : [4, 4, 0, 0] },
        cursor: data.links ? "pointer" : "default"
      };
      if (!horizontal) serie.yAxisIndex = axisIndex(data, s);
      if (s.type === "line") { serie.symbolSize = 8; serie.lineStyle = { width: 0 }; serie.symbol = "diamond"; }
      if (i === 0 && data.target !== undefined && data.target !== null) {
        serie.markLine = {
          symbol: "none", silent: true, lineStyle: { color: "#c62f3b", type: "dashed" },
          label: { formatter: (data.target_label || "target") + " " + formatter(s.unit || data.unit, false)(data.target), color: "#c62f3b" },
          data: [horizontal ? { xAxis: data.target } : { yAxis: data.target }]
        };
      }
      return serie;
    });
    return option;
  }

  function histogramOption(data, width) {
    var option = barOption(data, width);
    option.series.forEach(function (s) { s.barCategoryGap = "2%"; s.itemStyle.borderRadius = [2, 2, 0, 0]; });
    option.xAxis.axisLabel.rotate = 0;
    option.xAxis.name = data.axis_label || "";
    option.xAxis.nameLocation = "middle";
    option.xAxis.nameGap = 28;
    option.grid.bottom = 24;
    return option;
  }

  function funnelOption(data) {
    var stages = data.stages || [];
    var rates = data.rates || [];
    var unit = data.unit || "count";
    return {
      color: PALETTE,
      animationDuration: 300,
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var rate = rates[p.dataIndex];
          return p.name + ": <b>" + formatter(unit, true)(p.value) + "</b>" +
            (rate === null || rate === undefined ? "" : "<br>from the stage before: " + formatter("ratio", true)(rate));
        }
      },
      series: [{
        type: "funnel", sort: "none", left: "8%", width: "84%", top: 8, bottom: 8, gap: 2, minSize: "12%",
        label: {
          position: "inside", color: "#fff", fontWeight: 600,
          formatter: function (p) {
            var rate = rates[p.dataIndex];
            return p.name + "  " + formatter(unit, false)(p.value) +
              (rate === null || rate === undefined ? "" : "  (" + formatter("ratio", false)(rate) + ")");
          }
        },
        data: stages.map(function (s) { return { name: s.name, value: s.value }; })
      }]
    };
  }

  function sparklineOption(data) {
    var values = data.series && data.series.length ? data.series[0].data : (data.data || []);
    var serie = {
      type: "line", data: values, symbol: "none", smooth: false, lineStyle: { width: 1.5, color: PALETTE[0] },
      areaStyle: { color: "rgba(47, 91, 234, .08)" }
    };
    if (data.target !== undefined && data.target !== null) {
      serie.markLine = { symbol: "none", silent: true, label: { show: false }, lineStyle: { color: "#c62f3b", type: "dashed", width: 1 }, data: [{ yAxis: data.target }] };
    }
    return {
      animation: false,
      grid: { left: 2, right: 2, top: 3, bottom: 3 },
      xAxis: { type: "category", show: false, boundaryGap: false, data: data.categories || values.map(function (_, i) { return i; }) },
      yAxis: { type: "value", show: false, scale: true },
      tooltip: { show: false },
      series: [serie]
    };
  }

  var KINDS = { line: lineOption, bar: barOption, histogram: histogramOption, funnel: funnelOption, sparkline: sparklineOption };

  function optionFor(el) {
    var data = JSON.parse(el.getAttribute("data-analytics-chart"));
    var make = KINDS[data.kind] || barOption;
    return { data: data, option: make(data, el.clientWidth || 600) };
  }

  function follow(el, href) {
    /* Prefer the same link in the table under the chart, so HTMX (or the browser) navigates as usual. */
    var scope = el.closest("section, .card") || document;
    var link = scope.querySelector('a[data-drill="' + CSS.escape(href) + '"]');
    if (link) link.click();
    else window.location.assign(href);
  }

  function renderChart(el) {
    if (el.dataset.rendered) return;
    el.dataset.rendered = "1";
    loadEcharts().then(function (echarts) {
      var made = optionFor(el);
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(made.option);
      chart.on("click", function (params) {
        var links = made.data.links;
        if (links && links[params.dataIndex]) follow(el, links[params.dataIndex]);
      });
      el.setAttribute("data-chart-ready", "1");
    });
  }

  function renderCharts(root) {
    var scope = root || document;
    if (scope.matches && scope.matches(SELECTOR)) renderChart(scope);
    scope.querySelectorAll(SELECTOR).forEach(renderChart);
  }

  function disposeCharts(root) {
    if (!window.echarts || !root) return;
    root.querySelectorAll(SELECTOR).forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.dispose();
    });
  }

  function resetCharts(root) {
    /* Leave no live chart in a history snapshot: a restored page draws its charts afresh. */
    disposeCharts(root);
    root.querySelectorAll(SELECTOR).forEach(function (el) {
      el.removeAttribute("data-rendered");
      el.removeAttribute("data-chart-ready");
      el.removeAttribute("_echarts_instance_");
      el.removeAttribute("style");
      el.replaceChildren();
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    if (!window.echarts) return;
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      document.querySelectorAll(SELECTOR).forEach(function (el) {
        var chart = window.echarts.getInstanceByDom(el);
        if (chart) { chart.setOption(optionFor(el).option, true); chart.resize(); }
      });
    }, 120);
  });

  /* A chart drawn inside a closed <details> has no size: draw or resize it when it opens. */
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.open || !window.echarts) return;
    details.querySelectorAll(SELECTOR).forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  }, true);

  document.addEventListener("htmx:beforeSwap", function (event) { disposeCharts(event.detail.target); });
  document.addEventListener("htmx:beforeHistorySave", function (event) { resetCharts(event.detail.historyElt || document.body); });
  document.addEventListener("htmx:historyRestore", function () { renderCharts(document); });
  document.addEventListener("htmx:load", function (event) { renderCharts(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
})();
