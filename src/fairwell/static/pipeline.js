// The pipeline's bulk selection: "select everyone on this page" and a live count of the
// people ticked. Without JavaScript the boxes still work one by one, and "everyone matching
// this filter" rejects across every page.
(function () {
  "use strict";
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-select]"));
  var all = document.getElementById("select-all");
  var counts = document.querySelectorAll("[data-selected-count]");
  if (!boxes.length) return;

  function update() {
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    counts.forEach(function (node) { node.textContent = String(ticked); });
    if (all) {
      all.checked = ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  boxes.forEach(function (box) { box.addEventListener("change", update); });
  if (all) {
    all.closest("label").hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  update();
})();
