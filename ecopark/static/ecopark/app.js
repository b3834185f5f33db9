// The little JavaScript the pages need: repeatable rows (add and remove without a reload), units offered per
// resource, and the confirmation of a negative saving offered only for resources that allow one. Everything works
// without it too: rows are removed with their "Remove" box, units and negative savings are checked on saving.
(function () {
  "use strict";

  function offerUnits(row) {
    var resource = row.querySelector("select[name$='-resource']");
    var unit = row.querySelector("select[name$='-unit']");
    if (!resource || !unit) return;
    var option = resource.options[resource.selectedIndex];
    var allowed = option && option.dataset.units ? option.dataset.units.split(" ") : null;
    var firstAllowed = null;
    Array.prototype.forEach.call(unit.options, function (choice) {
      var ok = !allowed || allowed.indexOf(choice.value) !== -1;
      choice.hidden = !ok;
      choice.disabled = !ok;
      if (ok && firstAllowed === null) firstAllowed = choice;
    });
    if (unit.selectedOptions[0] && unit.selectedOptions[0].disabled && firstAllowed) {
      unit.value = firstAllowed.value;
    }
  }

  // The box "I confirm this saving is negative" applies only to a resource that allows a negative saving. A box
  // that arrived ticked stays in sight until the resource is changed, so a stored confirmation is never hidden.
  function offerConfirmation(row, resourceChanged) {
    var resource = row.querySelector("select[name$='-resource']");
    var box = row.querySelector("input[name$='-negative_confirmed']");
    if (!resource || !box) return;
    var option = resource.options[resource.selectedIndex];
    var applies = Boolean(option && option.hasAttribute("data-allows-negative"));
    if (!applies && resourceChanged) box.checked = false;
    box.closest(".field").hidden = !applies && !box.checked;
  }

  function fitRow(row, resourceChanged) {
    offerUnits(row);
    offerConfirmation(row, resourceChanged);
  }

  function changed(form) {
    form.dispatchEvent(new CustomEvent("lines-changed", { bubbles: true }));
  }

  function setUp(lines) {
    var total = lines.querySelector("input[name$='-TOTAL_FORMS']");
    var rows = lines.querySelector("[data-rows]");
    var template = lines.querySelector("template[data-empty-row]");
    var form = lines.closest("form");
    lines.querySelectorAll("[data-line]").forEach(function (row) {
      if (!row.closest("template")) fitRow(row, false);
      var box = row.querySelector("input[name$='-DELETE']");
      if (box) box.closest(".remove").hidden = true;
    });
    lines.addEventListener("change", function (event) {
      if (event.target.matches("select[name$='-resource']")) fitRow(event.target.closest("[data-line]"), true);
    });
    lines.addEventListener("click", function (event) {
      var add = event.target.closest("[data-add-line]");
      var remove = event.target.closest("[data-remove-line]");
      if (add) {
        var index = parseInt(total.value, 10);
        var html = template.innerHTML.replace(/__prefix__/g, String(index));
        rows.insertAdjacentHTML("beforeend", html);
        total.value = String(index + 1);
        var row = rows.lastElementChild;
        row.querySelector(".remove").hidden = true;
        fitRow(row, false);
        var first = row.querySelector("select, input:not([type=hidden])");
        if (first) first.focus();
        changed(form);
      } else if (remove) {
        var line = remove.closest("[data-line]");
        var box = line.querySelector("input[name$='-DELETE']");
        if (box) box.checked = true;
        line.hidden = true;
        var next = line.nextElementSibling || lines.querySelector("[data-add-line]");
        if (next) (next.querySelector("select, input:not([type=hidden])") || next).focus();
        changed(form);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-lines]").forEach(setUp);
  });
})();
