(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tbody tr[data-outcome]"));
  var select = document.getElementById("outcome-filter");
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var none = document.getElementById("none");
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button[data-filter]"));
  function update() {
    var outcome = select.value;
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search");
      var visible = (!outcome || row.getAttribute("data-outcome") === outcome) &&
        words.every(function (word) { return text.indexOf(word) !== -1; });
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-filter") === outcome));
    });
    shown.textContent = count + " of " + rows.length + " records shown";
    none.hidden = count !== 0;
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      var value = button.getAttribute("data-filter");
      select.value = select.value === value ? "" : value;
      update();
    });
  });
  select.addEventListener("change", update);
  search.addEventListener("input", update);
  update();
}());
