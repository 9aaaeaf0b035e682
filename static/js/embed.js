/* Loaded by the signup form pasted on other sites (funnel/embed/snippet.py), and optional there: it fills in the
 * reader's time zone, so the daily emails arrive in their morning. The form works without it (our default zone). */
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  [].forEach.call(document.querySelectorAll("form.pain-reset-signup input[name=time_zone]"), function (input) {
    if (!input.value) { input.value = zone; }
  });
})();
