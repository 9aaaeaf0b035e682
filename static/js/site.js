/* Small enhancements for every page; each works without this file, which the Content-Security-Policy allows only
 * from our own origin (no inline scripts or onclick attributes anywhere).
 */
(function () {
  "use strict";

  // The time zone select starts on the server's default; the browser knows better, unless the reader already chose
  // (data-chosen: a form sent back with an error, or a saved setting). A zone missing from the list (an old alias
  // such as Asia/Calcutta) is added, so what the browser reports is what gets stored.
  var select = document.getElementById("id_time_zone");
  if (select && !select.hasAttribute("data-chosen")) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* very old browser */ }
    if (zone) {
      var listed = [].some.call(select.options, function (option) { return option.value === zone; });
      if (!listed) {
        var option = document.createElement("option");
        option.value = zone;
        option.textContent = zone.replace(/_/g, " ");
        select.insertBefore(option, select.firstChild);
      }
      select.value = zone;
    }
  }

  // "Print this page" buttons stay hidden without JavaScript (they could do nothing); here they print.
  [].forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
}());
