/* OpenSPM page behaviour: charts from JSON in the page (data-chart attributes), the as-of picker, confirmations.
 * No inline scripts anywhere, so a strict Content-Security-Policy (script-src 'self') can be used.
 * HTMX sends the CSRF token from <body hx-headers>; every page also works without JavaScript. */
(function () {
  "use strict";

  var ECHARTS_SRC = "/static/vendor/echarts/echarts.min.js";
  var PALETTE = ["#2f5bea", "#17c3b2", "#f2a541", "#8e6cf0", "#e5606d", "#4aa3df"];
  var echartsLoading = null;

  function loadEcharts() {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (!echartsLoading) {
      echartsLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = ECHARTS_SRC;
        script.onload = function () { resolve(window.echarts); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return echartsLoading;
  }

  /* data-chart='{"categories": [...], "links": [...], "series": [{"name", "data": [...]}]}' → a (stacked) bar chart. */
  function barOption(data, width) {
    var perBar = width / Math.max(data.categories.length, 1);
    var tilted = perBar < 90;
    return {
      color: PALETTE,
      animationDuration: 300,
      grid: { left: tilted ? 28 : 8, right: 16, top: data.series.length > 1 ? 36 : 16, bottom: 8, containLabel: true },
      legend: data.series.length > 1 ? { top: 0 } : undefined,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: {
        type: "category", data: data.categories,
        axisLabel: {
          interval: 0, overflow: "truncate", color: "#3b4558",
          width: tilted ? 100 : Math.max(perBar - 12, 40), rotate: tilted ? 35 : 0
        },
        axisTick: { alignWithLabel: true }
      },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: "#5f6b7d" }, splitLine: { lineStyle: { color: "#e9edf3" } } },
      series: data.series.map(function (s) {
        return {
          name: s.name, type: "bar", stack: "headcount", data: s.data, barMaxWidth: 56,
          itemStyle: { borderRadius: [4, 4, 0, 0] },
          label: { show: true, position: "top", color: "#1d2433", fontWeight: 600 },
          cursor: "pointer"
        };
      })
    };
  }

  function drillTo(container, unitId) {
    /* Click the unit's own link in the table under the chart, so HTMX (or the browser) navigates. */
    var scope = container.closest("#org-view") || document;
    var link = scope.querySelector('a[data-unit="' + CSS.escape(unitId) + '"]');
    if (link) link.click();
  }

  function renderChart(el) {
    if (el.dataset.rendered) return;
    var data = JSON.parse(el.getAttribute("data-chart"));
    el.dataset.rendered = "1";
    loadEcharts().then(function (echarts) {
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(barOption(data, el.clientWidth));
      chart.on("click", function (params) {
        if (data.links && data.links[params.dataIndex]) drillTo(el, data.links[params.dataIndex]);
      });
      el.setAttribute("data-chart-ready", "1");
    });
  }

  function renderCharts(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(renderChart);
  }

  function disposeCharts(root) {
    if (!window.echarts || !root) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.dispose();
    });
  }

  window.addEventListener("resize", function () {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) {
        chart.setOption(barOption(JSON.parse(el.getAttribute("data-chart")), el.clientWidth));
        chart.resize();
      }
    });
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (form && event.target.value) form.requestSubmit();
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  function resetCharts(root) {
    /* Leave no live chart in a history snapshot: a restored page draws its charts afresh. */
    disposeCharts(root);
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      el.removeAttribute("data-rendered");
      el.removeAttribute("data-chart-ready");
      el.removeAttribute("_echarts_instance_");
      el.removeAttribute("style");
      el.replaceChildren();
    });
  }

  document.addEventListener("htmx:beforeSwap", function (event) { disposeCharts(event.detail.target); });
  document.addEventListener("htmx:beforeHistorySave", function (event) { resetCharts(event.detail.historyElt || document.body); });
  document.addEventListener("htmx:historyRestore", function () { renderCharts(document); });
  document.addEventListener("htmx:load", function (event) { renderCharts(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
})();
